// SPDX-License-Identifier: Apache-2.0
#include "post_service.h"

#include <rpcforge/app.h>
#include <rpcforge/db/registry.h>

namespace blog {

// [post_model]
const rpcforge::db::Model& PostModel() {
  using namespace rpcforge::db;
  static const Model model("blog.post", {
                                            CharField("title", 100),
                                            TextField("content"),
                                            DateTimeField("created").AutoNowAdd(),
                                        });
  return model;
}

RPCFORGE_REGISTER_APP(blog, [](rpcforge::db::App& app) { app.AddModel(PostModel()); });
RPCFORGE_REGISTER_SERVICE(PostService);
// [post_model end]

}  // namespace blog
