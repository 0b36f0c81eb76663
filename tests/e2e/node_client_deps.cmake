# SPDX-License-Identifier: Apache-2.0
# cmake -DNPM=... -DCLIENT_DIR=... -P node_client_deps.cmake
# Runs `npm ci` in the Node client's folder when its node_modules is absent or older
# than package-lock.json, with --ignore-scripts: the client needs no install script
# (protobufjs's postinstall only checks versions), so no registry code runs at build
# time. Never fails the build: without a registry (offline) or
# without npm it warns, and NodeClient.* then fail, saying to run `npm ci` there.
set(_lock "${CLIENT_DIR}/package-lock.json")
set(_installed "${CLIENT_DIR}/node_modules/.package-lock.json")  # written by npm ci
if(NOT EXISTS "${_lock}")
  message(WARNING "rpcforge: ${_lock} is missing; the Node e2e client has no dependencies")
  return()
endif()
if(EXISTS "${_installed}" AND NOT "${_lock}" IS_NEWER_THAN "${_installed}")
  return()  # installed from this lock file
endif()
if(NOT NPM)
  message(WARNING "rpcforge: npm not found; run `npm ci` in ${CLIENT_DIR} (ci/setup installs npm)")
  return()
endif()
message(STATUS "rpcforge: npm ci in ${CLIENT_DIR}")
execute_process(
  COMMAND "${NPM}" ci --no-audit --no-fund --ignore-scripts
  WORKING_DIRECTORY "${CLIENT_DIR}"
  RESULT_VARIABLE _rc
  TIMEOUT 600)
if(NOT _rc EQUAL 0)
  message(WARNING "rpcforge: `npm ci` in ${CLIENT_DIR} failed (${_rc}); the NodeClient e2e "
                  "tests will fail until it succeeds")
endif()
