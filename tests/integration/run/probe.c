/* A static helper the run_* tests copy into bundles, for what busybox cannot
 * show. Built by lib.sh with `cc -static`.
 *   probe keyring   the session keyring: "<serial> keyring;uid;gid;perm;name" */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "keyring") == 0) {
    char buf[512];
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, buf, sizeof buf - 1);
    if (id < 0 || n < 0) {
      printf("none: %s\n", strerror(errno));
      return 1;
    }
    buf[sizeof buf - 1] = '\0';
    printf("%ld %s\n", id, buf);
    return 0;
  }
  fprintf(stderr, "usage: probe keyring\n");
  return 2;
}
