#pragma once
// cxxopts, with each value of a repeatable option taken whole: left to
// itself cxxopts splits a vector option's value at ',', and
// `--build-arg A=x,y` or `--secret id=a,src=f` must stay one value. Include
// this, never <cxxopts.hpp> itself.

#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>
