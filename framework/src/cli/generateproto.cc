// SPDX-License-Identifier: Apache-2.0
// The generateproto command: a proto3 file for a registered model (see
// rpcforge/model/generate_proto.h).
#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"
#include "rpcforge/model/generate_proto.h"

namespace rpcforge::cli_internal {

void RegisterModelCommands() {
  RegisterCommand(
      {"generateproto", "Write a .proto (message + CRUD service) for a model", 50,
       [](CLI::App& sub) {
         struct Args {
           std::string model;
           std::vector<std::string> fields;
           std::string file;
           std::string package;
           std::string service;
         };
         auto args = std::make_shared<Args>();
         sub.add_option("--model", args->model, "the model's label, e.g. blog.post")->required();
         sub.add_option("--fields", args->fields, "fields to include, e.g. id,title (default all)")
             ->delimiter(',');
         sub.add_option("--file", args->file, "write here instead of standard output");
         sub.add_option("--package", args->package, "proto package (default <app>.v1)");
         sub.add_option("--service", args->service, "service name (default <Model>Controller)");
         return [args](CommandEnv& env) {
           const db::Model& model = db::Registry::Global().GetModel(args->model);
           model::GenerateProtoOptions options;
           options.fields = args->fields;
           options.package = args->package;
           options.service = args->service;
           const std::string text = model::GenerateProto(model, options);
           if (args->file.empty()) {
             *env.out << text;
             return 0;
           }
           std::ofstream file(args->file, std::ios::binary | std::ios::trunc);
           file << text;
           file.close();
           if (!file) {
             *env.err << "error: cannot write '" << args->file << "'\n";
             return 1;
           }
           *env.out << "Wrote " << args->file << "\n";
           return 0;
         };
       }});
}

}  // namespace rpcforge::cli_internal
