// SPDX-License-Identifier: Apache-2.0
// The blog's Post model and PostController service: a model declaration and a
// ModelService binding, nothing else.
#ifndef SAMPLES_BLOG_SRC_POST_SERVICE_H_
#define SAMPLES_BLOG_SRC_POST_SERVICE_H_

#include <rpcforge/db/model.h>
#include <rpcforge/model/generic_service.h>

#include "blog/v1/post.rpcforge.h"

namespace blog {

// PostModel is the table blog_post: id, title (at most 100 characters), content,
// created (set on insert).
const rpcforge::db::Model& PostModel();

// [post_service]
class PostService : public rpcforge::model::ModelService<v1::PostControllerBase> {
 public:
  PostService() : ModelService(PostModel()) {}
};
// [post_service end]

}  // namespace blog

#endif  // SAMPLES_BLOG_SRC_POST_SERVICE_H_
