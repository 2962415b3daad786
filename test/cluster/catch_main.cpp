// The main() of the cluster and cost model Catch2 tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
