# SPDX-License-Identifier: Apache-2.0
# rpcforge::model: proto <-> model serializers, the generic model service, generateproto.
rpcforge_framework_module(model
  SRCS
    src/model/proto_util.cc
    src/model/serializer.cc
    src/model/generic_service.cc
    src/model/generate_proto.cc
  PUBLIC_DEPS rpcforge_server
  PRIVATE_DEPS spdlog::spdlog)
