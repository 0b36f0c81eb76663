// SPDX-License-Identifier: Apache-2.0
// The models behind model_test.proto (registered in serializer_test.cc).
#ifndef RPCFORGE_SRC_MODEL_TESTDATA_GADGET_MODELS_H_
#define RPCFORGE_SRC_MODEL_TESTDATA_GADGET_MODELS_H_

#include "rpcforge/db/model.h"

namespace modeltest {

inline const rpcforge::db::Model& MakerModel() {
  using namespace rpcforge::db;
  static const Model model("modeltest.maker", {CharField("name", 50)});
  return model;
}

inline const rpcforge::db::Model& GadgetModel() {
  using namespace rpcforge::db;
  static const Model model("modeltest.gadget",
                           {
                               CharField("name", 50),
                               IntegerField("count").Default(0).MinValue(0),
                               FloatField("price").Default(0.0),
                               BoolField("active").Default(false),
                               CharField("color", 20)
                                   .Choices({"COLOR_UNSPECIFIED", "RED", "GREEN"})
                                   .Default("COLOR_UNSPECIFIED"),
                               IntegerField("color_number").Default(0),
                               BinaryField("payload").Null(),
                               DateTimeField("released").Null(),
                               CharField("note", 20).Null(),
                               IntegerField("rating").Null(),
                               IntegerField("stock").Default(5),
                               ForeignKey("maker", "modeltest.maker", OnDelete::kSetNull).Null(),
                               DateTimeField("created").AutoNowAdd(),
                               DateTimeField("updated").AutoNow(),
                           });
  return model;
}

inline const rpcforge::db::Model& PersonModel() {
  using namespace rpcforge::db;
  static const Model model("modeltest.person",
                           {
                               CharField("name", 50),
                               ForeignKey("mentor", "modeltest.person", OnDelete::kSetNull).Null(),
                           });
  return model;
}

}  // namespace modeltest

#endif  // RPCFORGE_SRC_MODEL_TESTDATA_GADGET_MODELS_H_
