#pragma once
// Manifests, indexes and configs from the image-spec and Docker's schema 2 docs,
// shared by the image tests.

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace hoist::image::test {

// Replaces the first occurrence of `from` (which must be there) in `s`.
inline std::string edit(std::string_view s, std::string_view from, std::string_view to) {
  std::string out(s);
  size_t pos = out.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, from);
  out.replace(pos, from.size(), to);
  return out;
}

// image-spec image-manifest.md's example (with subject and annotations).
inline constexpr std::string_view kOciManifest = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      "size": 32654
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "size": 16724
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
      "size": 73109
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
    "size": 7682
  },
  "annotations": {
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }
})";

// Docker's manifest-v2-2.md example (field order as Docker writes it).
inline constexpr std::string_view kDockerManifest = R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": 7023,
        "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
    },
    "layers": [
        {
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 32654,
            "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
        },
        {
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 16724,
            "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
        },
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "size": 73109,
            "digest": "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
            "urls": ["https://example.com/layer.tar.gz"]
        }
    ]
})";

// Docker's manifest list example.
inline constexpr std::string_view kDockerList = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      "size": 7143,
      "platform": {
        "architecture": "ppc64le",
        "os": "linux"
      }
    },
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      "size": 7682,
      "platform": {
        "architecture": "amd64",
        "os": "linux",
        "features": ["sse4"]
      }
    }
  ]
})";

// image-spec image-index.md's example, without a mediaType in the body (allowed
// for OCI), plus an arm64/v8 entry.
inline constexpr std::string_view kOciIndex = R"({
  "schemaVersion": 2,
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7143,
      "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      "platform": {
        "architecture": "ppc64le",
        "os": "linux"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7682,
      "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      "platform": {
        "architecture": "amd64",
        "os": "windows",
        "os.version": "10.0.14393.1066",
        "os.features": ["win32k"]
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7682,
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "platform": {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8"
      }
    }
  ],
  "annotations": {
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }
})";

// A Docker schema 1 manifest (hello-world, abridged).
inline constexpr std::string_view kSchema1 = R"({
  "schemaVersion": 1,
  "name": "library/hello-world",
  "tag": "latest",
  "architecture": "amd64",
  "fsLayers": [
    {"blobSum": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"}
  ],
  "history": [{"v1Compatibility": "{}"}],
  "signatures": []
})";

// A Docker-built config as a registry serves it (nulls, extra fields and all).
inline constexpr std::string_view kDockerConfig = R"({
  "architecture": "amd64",
  "config": {
    "Hostname": "",
    "User": "app",
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
    "Cmd": ["sh"],
    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000},
    "Image": "sha256:c4a4ecf1c3fbfaa2b0c48bdb4f3a72d7e1f5a2b8d5c1d5a6b6e3a8c2b1f0e9d7",
    "Volumes": {"/data": {}},
    "WorkingDir": "/srv",
    "Entrypoint": null,
    "OnBuild": null,
    "Labels": {"org.opencontainers.image.title": "demo"},
    "StopSignal": "SIGTERM"
  },
  "container": "f8b1b4f2a3c6",
  "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
  "created": "2023-05-19T20:19:22.751398522Z",
  "docker_version": "20.10.23",
  "history": [
    {"created": "2023-05-19T20:19:22.642379898Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2023-05-19T20:19:22.751398522Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
  ],
  "os": "linux",
  "rootfs": {
    "type": "layers",
    "diff_ids": ["sha256:9547b4c33213e630a0ca602a989ecc094e042146ae8afa502e1e65af6473db03"]
  }
})";

}  // namespace hoist::image::test
