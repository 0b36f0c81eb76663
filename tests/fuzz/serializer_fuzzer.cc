// SPDX-License-Identifier: Apache-2.0
// serializer_fuzzer feeds the input as protobuf wire bytes to the message -> row path
// of rpcforge::model::ModelProtoSerializer. The first byte picks the message type of
// framework/src/model/testdata/model_test.proto (0 Gadget: one field of every mapped
// kind; 1 GadgetPatch: wrappers, `optional` and its own update_mask; 2
// UpdateGadgetRequest: a nested Gadget with the mask beside it; 3 Person: a
// self-referencing foreign key); the rest must parse as that message. Then ToValues
// runs in every WriteMode (with the message's own mask, with none, with the request's
// mask, with "*") and Validate (partial and not) on each result. Allowed outcomes:
// success, or an rpcforge::Error with code INVALID_ARGUMENT (ValidationError,
// InvalidArgument); anything else aborts as a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "model/testdata/gadget_models.h"
#include "model/testdata/model_test.pb.h"
#include "rpcforge/errors.h"
#include "rpcforge/model/serializer.h"

namespace {

using google::protobuf::Message;
using rpcforge::model::ModelProtoSerializer;
using rpcforge::model::WriteMode;
using Mask = std::optional<std::vector<std::string>>;

constexpr WriteMode kModes[] = {WriteMode::kCreate, WriteMode::kUpdate, WriteMode::kPartialUpdate};

// Run converts `message` in `mode` (with `mask` when set, else the message's own) and
// validates the result; only INVALID_ARGUMENT may escape, and only from here.
void Run(const ModelProtoSerializer& serializer, const Message& message, WriteMode mode,
         const std::optional<Mask>& mask) {
  try {
    const rpcforge::db::Values values =
        mask ? serializer.ToValues(message, mode, *mask) : serializer.ToValues(message, mode);
    for (bool partial : {false, true}) {
      try {
        serializer.Validate(values, partial);
      } catch (const rpcforge::Error& e) {
        if (e.code() != grpc::StatusCode::INVALID_ARGUMENT) {
          rpcforge::fuzz::Finding("serializer_fuzzer", e);
        }
      }
    }
  } catch (const rpcforge::Error& e) {
    if (e.code() != grpc::StatusCode::INVALID_ARGUMENT) {
      rpcforge::fuzz::Finding("serializer_fuzzer", e);
    }
  }
}

void RunAllModes(const ModelProtoSerializer& serializer, const Message& message) {
  for (WriteMode mode : kModes) {
    Run(serializer, message, mode, std::nullopt);  // the message's own update_mask
    Run(serializer, message, mode, Mask());        // explicitly none
  }
  Run(serializer, message, WriteMode::kPartialUpdate, Mask(std::vector<std::string>{"*"}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  if (size == 0) return 0;
  static const ModelProtoSerializer* gadgets = new ModelProtoSerializer(modeltest::GadgetModel());
  static const ModelProtoSerializer* people = new ModelProtoSerializer(modeltest::PersonModel());
  const void* wire = data + 1;
  const int wire_size = static_cast<int>(size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        modeltest::Gadget gadget;
        if (!gadget.ParseFromArray(wire, wire_size)) return 0;
        RunAllModes(*gadgets, gadget);
        break;
      }
      case 1: {
        modeltest::GadgetPatch patch;
        if (!patch.ParseFromArray(wire, wire_size)) return 0;
        RunAllModes(*gadgets, patch);
        break;
      }
      case 2: {
        modeltest::UpdateGadgetRequest request;
        if (!request.ParseFromArray(wire, wire_size)) return 0;
        Mask mask;
        if (request.update_mask().paths_size() > 0) {
          mask.emplace(request.update_mask().paths().begin(), request.update_mask().paths().end());
        }
        Run(*gadgets, request.gadget(), WriteMode::kPartialUpdate, mask);
        RunAllModes(*gadgets, request.gadget());
        break;
      }
      default: {
        modeltest::Person person;
        if (!person.ParseFromArray(wire, wire_size)) return 0;
        RunAllModes(*people, person);
        break;
      }
    }
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("serializer_fuzzer", e);
  }
  return 0;
}
