# SPDX-License-Identifier: Apache-2.0
# rpcforge::config: the YAML -> rpcforge.config.v1.Config loader, env/flag overrides,
# validation and default-applying accessors. yaml-cpp stays private.
rpcforge_framework_module(config
  SRCS
    src/config/config.cc
    src/config/duration.cc
    src/config/validate.cc
    src/config/yaml_reader.cc
    src/config/field_setter.cc
    src/config/overrides.cc
  PUBLIC_DEPS rpcforge_core rpcforge_protos
  PRIVATE_DEPS yaml-cpp)
