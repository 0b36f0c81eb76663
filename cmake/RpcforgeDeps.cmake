# SPDX-License-Identifier: Apache-2.0
# Finds every third-party dependency (Debian 12 packages; ci/setup installs them).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(SQLiteCpp CONFIG REQUIRED)
# The PostgreSQL backend (libpq-dev): CMake's FindPostgreSQL gives PostgreSQL::PostgreSQL.
find_package(PostgreSQL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_library(RPCFORGE_PROTOC_LIB NAMES protoc REQUIRED)
# cpp-httplib (Debian libcpp-httplib-dev: a shared library built with OpenSSL, zlib and
# brotli support, so its users must define the same CPPHTTPLIB_* macros; pkg-config
# says which): the admin HTTP port. Private to the framework library; the installed
# package links the library by its path.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RPCFORGE_HTTPLIB REQUIRED cpp-httplib)
