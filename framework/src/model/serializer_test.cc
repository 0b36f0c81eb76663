// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/model/serializer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <sstream>
#include <type_traits>

#include "model/testdata/gadget_models.h"
#include "model/testdata/model_test.pb.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/testing/matchers.h"

RPCFORGE_REGISTER_APP(modeltest, [](rpcforge::db::App& app) {
  app.AddModel(modeltest::MakerModel())
      .AddModel(modeltest::GadgetModel())
      .AddModel(modeltest::PersonModel());
});

using modeltest::Gadget;
using modeltest::GadgetModel;
using modeltest::MakerModel;
using modeltest::PersonModel;
using rpcforge::ValidationError;
using rpcforge::db::Row;
using rpcforge::db::Value;
using rpcforge::db::Values;
using rpcforge::model::ModelProtoSerializer;
using rpcforge::model::ProtoSerializer;
using rpcforge::model::SerializerOptions;
using rpcforge::model::WriteMode;
using rpcforge::testing::EqualsProto;
using rpcforge::testing::Partially;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

namespace {

const Value* Find(const Values& values, const std::string& name) {
  for (const auto& [n, v] : values) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::vector<std::string> Names(const Values& values) {
  std::vector<std::string> names;
  for (const auto& [n, v] : values) names.push_back(n);
  return names;
}

std::vector<std::string> ViolatedFields(const ValidationError& e) {
  std::vector<std::string> fields;
  for (const auto& v : e.violations()) fields.push_back(v.field);
  return fields;
}

Gadget FullGadget() {
  Gadget g;
  g.set_id(99);  // read-only: ignored on input
  g.set_name("lamp");
  g.set_count(3);
  g.set_price(9.5);
  g.set_active(true);
  g.set_color(modeltest::RED);
  g.set_color_number(modeltest::GREEN);
  g.set_payload(std::string("\x00\x01", 2));
  g.mutable_released()->set_seconds(1700000000);
  g.mutable_released()->set_nanos(123456000);
  g.mutable_note()->set_value("bright");
  g.set_rating_value(4);
  g.set_stock(7);
  g.mutable_created()->set_seconds(1);  // read-only (auto_now_add)
  g.set_not_in_model("ignored");
  return g;
}

}  // namespace

TEST(ModelProtoSerializer, ConvertsEveryMappedTypeOnCreate) {
  ModelProtoSerializer s(GadgetModel());
  const Values values = s.ToValues(FullGadget(), WriteMode::kCreate);
  EXPECT_EQ(Find(values, "id"), nullptr);
  EXPECT_EQ(Find(values, "created"), nullptr);
  EXPECT_EQ(Find(values, "not_in_model"), nullptr);
  EXPECT_EQ(*Find(values, "name"), Value("lamp"));
  EXPECT_EQ(*Find(values, "count"), Value(3));
  EXPECT_EQ(*Find(values, "price"), Value(9.5));
  EXPECT_EQ(*Find(values, "active"), Value(true));
  EXPECT_EQ(*Find(values, "color"), Value("RED"));
  EXPECT_EQ(*Find(values, "color_number"), Value(2));
  EXPECT_EQ(*Find(values, "payload"), Value(rpcforge::db::Blob{0, 1}));
  EXPECT_EQ(Find(values, "released")->AsTime().time_since_epoch(),
            std::chrono::seconds(1700000000) + std::chrono::microseconds(123456));
  EXPECT_EQ(*Find(values, "note"), Value("bright"));
  EXPECT_EQ(*Find(values, "rating"), Value(4));
  EXPECT_EQ(*Find(values, "stock"), Value(7));
  EXPECT_EQ(Find(values, "maker"), nullptr);  // unset message: not given
}

TEST(ModelProtoSerializer, UnsetPresenceFieldsAreLeftOutOnCreateAndNulledOnUpdate) {
  ModelProtoSerializer s(GadgetModel());
  Gadget g;
  g.set_name("x");
  const Values create = s.ToValues(g, WriteMode::kCreate);
  EXPECT_EQ(Find(create, "note"), nullptr);
  EXPECT_EQ(Find(create, "stock"), nullptr);    // optional unset: the default applies
  EXPECT_EQ(Find(create, "rating"), nullptr);   // oneof unset
  EXPECT_EQ(*Find(create, "count"), Value(0));  // proto3 default included
  const Values update = s.ToValues(g, WriteMode::kUpdate);
  EXPECT_EQ(*Find(update, "note"), Value());
  EXPECT_EQ(*Find(update, "rating"), Value());
  EXPECT_EQ(Find(update, "stock"), nullptr);  // not nullable: left as is
}

TEST(ModelProtoSerializer, NullValueOneofMapsToNull) {
  ModelProtoSerializer s(GadgetModel());
  Gadget g;
  g.set_rating_null(google::protobuf::NULL_VALUE);
  EXPECT_EQ(*Find(s.ToValues(g, WriteMode::kPartialUpdate), "rating"), Value());

  Row row(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"rating"}),
          {Value()});
  Gadget out;
  s.ToMessage(row, &out);
  EXPECT_EQ(out.rating_case(), Gadget::kRatingNull);
  Row rated(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"rating"}),
            {Value(5)});
  s.ToMessage(rated, &out);
  EXPECT_EQ(out.rating_value(), 5);
}

TEST(ModelProtoSerializer, TimesBefore1970BecomeFlooredSecondsAndPositiveNanos) {
  ModelProtoSerializer s(GadgetModel());
  // 1969-12-31T23:59:58.75Z: 1.25 s before the epoch.
  const rpcforge::Clock::TimePoint t{-std::chrono::milliseconds(1250)};
  Row row(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"released"}),
          {Value(t)});
  Gadget out;
  s.ToMessage(row, &out);
  EXPECT_EQ(out.released().seconds(), -2);
  EXPECT_EQ(out.released().nanos(), 750000000);
  // And back: the same instant.
  EXPECT_EQ(Find(s.ToValues(out, WriteMode::kCreate), "released")->AsTime(), t);
}

TEST(ModelProtoSerializer, PartialUpdateWritesOnlyWhatWasSet) {
  ModelProtoSerializer s(GadgetModel());
  Gadget g;
  g.set_count(2);
  g.mutable_note()->set_value("");  // a set wrapper counts, even when empty
  EXPECT_THAT(Names(s.ToValues(g, WriteMode::kPartialUpdate)),
              UnorderedElementsAre("count", "note"));
}

TEST(ModelProtoSerializer, UpdateMaskSelectsExactlyItsPaths) {
  ModelProtoSerializer s(GadgetModel());
  modeltest::GadgetPatch patch;
  patch.mutable_name()->set_value("new");
  patch.set_count(4);
  patch.mutable_update_mask()->add_paths("name");
  patch.mutable_update_mask()->add_paths("note");  // unset wrapper in the mask: NULL
  const Values values = s.ToValues(patch, WriteMode::kPartialUpdate);
  EXPECT_THAT(values, ElementsAre(Pair("name", Value("new")), Pair("note", Value())));
}

TEST(ModelProtoSerializer, UnknownMaskPathsAreInvalidArgumentNamingThem) {
  ModelProtoSerializer s(GadgetModel());
  modeltest::GadgetPatch patch;
  patch.mutable_update_mask()->add_paths("name");
  patch.mutable_update_mask()->add_paths("colour");
  patch.mutable_update_mask()->add_paths("bogus");
  try {
    s.ToValues(patch, WriteMode::kPartialUpdate);
    FAIL() << "no error";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_EQ(e.message(), "update_mask: unknown fields 'colour', 'bogus'");
  }
}

TEST(ModelProtoSerializer, RoundTripsThroughTheDatabase) {
  // Not a fixture test: the in-memory database needs no pinning.
  auto db = rpcforge::db::Database::Open(":memory:");
  rpcforge::db::Registry registry;
  registry.app("modeltest").AddModel(modeltest::MakerModel()).AddModel(GadgetModel());
  std::ostringstream log;
  rpcforge::db::Migrate(*db, registry, log);
  const Row maker = modeltest::MakerModel().Objects(*db).Create({{"name", "acme"}});

  ModelProtoSerializer s(GadgetModel());
  Gadget in = FullGadget();
  in.mutable_maker()->set_id(maker["id"].AsInt());
  const Row row = GadgetModel().Objects(*db).Create(s.ToValues(in, WriteMode::kCreate));
  Gadget out;
  s.ToMessage(GadgetModel().Objects(*db).Get("id", row["id"]), &out);
  EXPECT_THAT(out, Partially(EqualsProto(R"pb(
                name: "lamp"
                count: 3
                price: 9.5
                active: true
                color: RED
                color_number: GREEN
                payload: "\x00\x01"
                released { seconds: 1700000000 nanos: 123456000 }
                note { value: "bright" }
                rating_value: 4
                stock: 7
                maker { id: 1 }
              )pb")));
  EXPECT_EQ(out.id(), row["id"].AsInt());
  EXPECT_TRUE(out.has_created());
  EXPECT_EQ(out.not_in_model(), "");
}

TEST(ModelProtoSerializer, CollectsEveryFieldErrorAtOnce) {
  ModelProtoSerializer s(GadgetModel());
  Gadget g;
  g.set_count(-1);                                    // min 0
  g.mutable_note()->set_value(std::string(21, 'n'));  // max 20
  try {
    s.Validate(s.ToValues(g, WriteMode::kCreate), /*partial=*/false);
    FAIL() << "no error";
  } catch (const ValidationError& e) {
    EXPECT_THAT(ViolatedFields(e), UnorderedElementsAre("name", "count", "note"));
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST(ModelProtoSerializer, ConversionErrorsAreFieldViolations) {
  ModelProtoSerializer s(GadgetModel());
  Gadget g;
  g.set_name("x");
  g.set_color(static_cast<modeltest::Color>(42));  // open enum, unknown number
  g.mutable_released()->set_seconds(-99999999999);
  try {
    s.ToValues(g, WriteMode::kCreate);
    FAIL() << "no error";
  } catch (const ValidationError& e) {
    EXPECT_THAT(ViolatedFields(e), UnorderedElementsAre("color", "released"));
  }
}

// Timestamps inside protobuf's range (0001-9999) but outside what Clock::TimePoint
// holds overflowed the nanosecond conversion (UBSan); found by
// tests/fuzz/serializer_fuzzer (corpus/serializer_fuzzer/regress_timestamp_year_0001).
TEST(ModelProtoSerializer, TimestampsTimePointCannotHoldAreFieldViolations) {
  ModelProtoSerializer s(GadgetModel());
  const int64_t max_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(rpcforge::Clock::TimePoint::duration::max())
          .count();
  for (const int64_t seconds : {int64_t{-62135596800}, int64_t{253402300799}, max_seconds}) {
    Gadget g;
    g.set_name("x");
    g.mutable_released()->set_seconds(seconds);
    g.mutable_released()->set_nanos(999999999);
    try {
      s.ToValues(g, WriteMode::kCreate);
      if (std::is_same_v<rpcforge::Clock::TimePoint::duration, std::chrono::nanoseconds>) {
        ADD_FAILURE() << "no error for " << seconds;
      }
    } catch (const ValidationError& e) {
      ASSERT_THAT(e.violations(), testing::SizeIs(1));
      EXPECT_EQ(e.violations()[0].field, "released");
      EXPECT_THAT(e.violations()[0].description, testing::StartsWith("Timestamp out of range ("));
    }
  }
  if (std::is_same_v<rpcforge::Clock::TimePoint::duration, std::chrono::nanoseconds>) {
    Gadget g;
    g.mutable_released()->set_seconds(max_seconds);
    g.mutable_released()->set_nanos(999999999);
    try {
      s.ToValues(g, WriteMode::kCreate);
      FAIL() << "no error";
    } catch (const ValidationError& e) {
      EXPECT_EQ(e.violations()[0].description,
                "Timestamp out of range (1677-09-21 to 2262-04-11).");
    }
    g.mutable_released()->set_seconds(max_seconds - 1);  // the last whole second that fits
    const Values values = s.ToValues(g, WriteMode::kCreate);
    ASSERT_NE(Find(values, "released"), nullptr);
    EXPECT_EQ(rpcforge::FormatTimestamp(Find(values, "released")->AsTime()),
              "2262-04-11T23:47:15.999999Z");
  }
}

TEST(ModelProtoSerializer, CustomValidatorsJoinTheModelsChecks) {
  SerializerOptions options;
  options.field_validators["name"].push_back([](const Value& v) -> std::optional<std::string> {
    if (v.AsText() == "forbidden") return "This name is reserved.";
    return std::nullopt;
  });
  options.validators.push_back([](const Values& values, bool, ValidationError& errors) {
    const Value* count = Find(values, "count");
    const Value* stock = Find(values, "stock");
    if (count && stock && count->AsInt() > stock->AsInt()) {
      errors.Add("count", "Cannot exceed stock.");
    }
  });
  ModelProtoSerializer s(GadgetModel(), options);
  Gadget g;
  g.set_name("forbidden");
  g.set_count(9);
  g.set_stock(1);
  try {
    s.Validate(s.ToValues(g, WriteMode::kCreate), false);
    FAIL() << "no error";
  } catch (const ValidationError& e) {
    ASSERT_EQ(e.violations().size(), 2u);
    EXPECT_EQ(e.violations()[0].description, "This name is reserved.");
    EXPECT_EQ(e.violations()[1].description, "Cannot exceed stock.");
  }
}

TEST(ModelProtoSerializer, FieldsListAndConvertersOverrideTheDefaults) {
  SerializerOptions options;
  options.fields = {"id", "name", "price"};
  options.converters["price"].to_value = [](const google::protobuf::Message& m) {
    return std::optional<Value>(static_cast<const Gadget&>(m).price() * 100);  // cents
  };
  options.converters["price"].to_message = [](const Row& row, google::protobuf::Message* m) {
    static_cast<Gadget*>(m)->set_price(row["price"].AsDouble() / 100);
  };
  ModelProtoSerializer s(GadgetModel(), options);
  const Values values = s.ToValues(FullGadget(), WriteMode::kCreate);
  EXPECT_THAT(values, ElementsAre(Pair("name", Value("lamp")), Pair("price", Value(950.0))));

  Row row(std::make_shared<std::vector<std::string>>(
              std::vector<std::string>{"id", "name", "price", "count"}),
          {Value(1), Value("lamp"), Value(950.0), Value(3)});
  Gadget out;
  s.ToMessage(row, &out);
  EXPECT_THAT(out, EqualsProto(R"pb(id: 1 name: "lamp" price: 9.5)pb"));  // no count
}

// An override of a virtual changes one direction for every field.
class UpperCaseSerializer : public ModelProtoSerializer {
 public:
  using ModelProtoSerializer::ModelProtoSerializer;
  void ToMessage(const Row& row, google::protobuf::Message* message) const override {
    ModelProtoSerializer::ToMessage(row, message);
    auto* g = static_cast<Gadget*>(message);
    for (auto& c : *g->mutable_name()) c = static_cast<char>(std::toupper(c));
  }
};

TEST(ModelProtoSerializer, VirtualsCanBeOverridden) {
  UpperCaseSerializer s(GadgetModel());
  Row row(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"name"}),
          {Value("lamp")});
  Gadget out;
  s.ToMessage(row, &out);
  EXPECT_EQ(out.name(), "LAMP");
}

TEST(ModelProtoSerializer, MismatchedStoredValueIsInternal) {
  ModelProtoSerializer s(GadgetModel());
  Row row(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"count"}),
          {Value("not a number")});
  Gadget out;
  EXPECT_THROW(s.ToMessage(row, &out), rpcforge::Internal);
}

TEST(ProtoSerializer, WorksWithoutAModel) {
  SerializerOptions options;
  options.read_only_fields = {"id"};
  ProtoSerializer s(options);
  modeltest::Maker maker;
  maker.set_id(3);
  maker.set_name("acme");
  EXPECT_THAT(s.ToValues(maker, WriteMode::kCreate), ElementsAre(Pair("name", Value("acme"))));
  Row row(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"id", "name"}),
          {Value(4), Value("b")});
  modeltest::Maker out;
  s.ToMessage(row, &out);
  EXPECT_THAT(out, EqualsProto(R"pb(id: 4 name: "b")pb"));
}

// Related rows on output: nested foreign keys and SerializerOptions::related_many.
class RelatedSerializerTest : public rpcforge::fixtures::TestCase {
 protected:
  static SerializerOptions WithDatabase(int max_depth = 3) {
    SerializerOptions options;
    options.database = &db();
    options.max_depth = max_depth;
    return options;
  }
  static SerializerOptions WithGadgets() {
    SerializerOptions options = WithDatabase();
    options.related_many = {{"gadgets", {"modeltest.gadget", "maker"}}};
    return options;
  }
  static int64_t CreateGadget(const std::string& name, const Value& maker) {
    return GadgetModel().Objects(db()).Create({{"name", name}, {"maker", maker}})["id"].AsInt();
  }
  static int64_t CreatePerson(const std::string& name, const Value& mentor) {
    return PersonModel().Objects(db()).Create({{"name", name}, {"mentor", mentor}})["id"].AsInt();
  }
};

TEST_F(RelatedSerializerTest, NestedForeignKeyGetsTheRelatedObject) {
  const int64_t maker = MakerModel().Objects(db()).Create({{"name", "acme"}})["id"].AsInt();
  const Row row = GadgetModel().Objects(db()).Get("id", CreateGadget("lamp", maker));
  ModelProtoSerializer s(GadgetModel(), WithDatabase());
  Gadget out;
  s.ToMessage(row, &out);
  EXPECT_EQ(out.maker().id(), maker);
  EXPECT_EQ(out.maker().name(), "acme");
  // Input still takes only the nested message's id.
  out.mutable_maker()->set_name("ignored");
  EXPECT_EQ(*Find(s.ToValues(out, WriteMode::kCreate), "maker"), Value(maker));
  // Without a database only the id is set.
  Gadget bare;
  ModelProtoSerializer(GadgetModel()).ToMessage(row, &bare);
  EXPECT_THAT(bare.maker(), EqualsProto("id: " + std::to_string(maker)));
}

TEST_F(RelatedSerializerTest, MissingOrNullRelatedRowLeavesOnlyTheId) {
  ModelProtoSerializer s(GadgetModel(), WithDatabase());
  Row dangling(
      std::make_shared<std::vector<std::string>>(std::vector<std::string>{"name", "maker_id"}),
      {Value("lamp"), Value(999)});
  Gadget out;
  s.ToMessage(dangling, &out);
  EXPECT_THAT(out.maker(), EqualsProto("id: 999"));
  Row none(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"maker_id"}),
           {Value()});
  s.ToMessage(none, &out);
  EXPECT_FALSE(out.has_maker());
}

TEST_F(RelatedSerializerTest, NestingStopsAtMaxDepth) {
  const int64_t a = CreatePerson("a", Value());
  const int64_t b = CreatePerson("b", a);
  const int64_t c = CreatePerson("c", b);
  const int64_t d = CreatePerson("d", c);
  const int64_t e = CreatePerson("e", d);
  modeltest::Person out;
  ModelProtoSerializer(PersonModel(), WithDatabase())
      .ToMessage(PersonModel().Objects(db()).Get("id", e), &out);
  auto id = [](int64_t v) { return std::to_string(v); };
  EXPECT_THAT(out, EqualsProto("id: " + id(e) + " name: 'e' mentor { id: " + id(d) +
                               " name: 'd' mentor { id: " + id(c) + " name: 'c' mentor { id: " +
                               id(b) + " name: 'b' mentor { id: " + id(a) + " } } } }"));
  modeltest::Person flat;
  ModelProtoSerializer(PersonModel(), WithDatabase(/*max_depth=*/0))
      .ToMessage(PersonModel().Objects(db()).Get("id", e), &flat);
  EXPECT_THAT(flat, EqualsProto("id: " + id(e) + " name: 'e' mentor { id: " + id(d) + " }"));
}

TEST_F(RelatedSerializerTest, SelfReferenceTerminates) {
  const int64_t me = CreatePerson("me", Value());
  PersonModel().Objects(db()).Filter("id", me).Update({{"mentor", me}});
  modeltest::Person out;
  ModelProtoSerializer(PersonModel(), WithDatabase(/*max_depth=*/2))
      .ToMessage(PersonModel().Objects(db()).Get("id", me), &out);
  const std::string id = std::to_string(me);
  EXPECT_THAT(out, EqualsProto("id: " + id + " name: 'me' mentor { id: " + id +
                               " name: 'me' mentor { id: " + id + " name: 'me' mentor { id: " + id +
                               " } } }"));
}

TEST_F(RelatedSerializerTest, RelatedManyListsTheChildrenInIdOrder) {
  const int64_t acme = MakerModel().Objects(db()).Create({{"name", "acme"}})["id"].AsInt();
  const int64_t other = MakerModel().Objects(db()).Create({{"name", "other"}})["id"].AsInt();
  const int64_t zeta = CreateGadget("zeta", acme);
  CreateGadget("elsewhere", other);
  const int64_t alpha = CreateGadget("alpha", acme);
  CreateGadget("orphan", Value());

  modeltest::MakerWithGadgets out;
  out.add_gadgets()->set_name("stale");  // replaced, not appended to
  ModelProtoSerializer(MakerModel(), WithGadgets())
      .ToMessage(MakerModel().Objects(db()).Get("id", acme), &out);
  EXPECT_EQ(out.name(), "acme");
  ASSERT_EQ(out.gadgets_size(), 2);
  EXPECT_EQ(out.gadgets(0).id(), zeta);
  EXPECT_EQ(out.gadgets(0).name(), "zeta");
  EXPECT_EQ(out.gadgets(1).id(), alpha);
  EXPECT_EQ(out.gadgets(1).name(), "alpha");
  EXPECT_EQ(out.gadgets(1).maker().name(), "acme");  // children nest their own keys
}

TEST_F(RelatedSerializerTest, RelatedManyWithoutChildrenOrDatabaseIsEmpty) {
  const Row lonely = MakerModel().Objects(db()).Create({{"name", "lonely"}});
  modeltest::MakerWithGadgets out;
  ModelProtoSerializer(MakerModel(), WithGadgets()).ToMessage(lonely, &out);
  EXPECT_THAT(out, EqualsProto("id: " + std::to_string(lonely["id"].AsInt()) + " name: 'lonely'"));

  SerializerOptions no_database = WithGadgets();
  no_database.database = nullptr;
  CreateGadget("lamp", lonely["id"]);
  ModelProtoSerializer(MakerModel(), no_database).ToMessage(lonely, &out);
  EXPECT_EQ(out.gadgets_size(), 0);
}

TEST_F(RelatedSerializerTest, AScopedDatabaseServesSerializersWithoutOne) {
  // What the generic services do per call: a shared serializer with no database in
  // its options loads related rows from the call's database.
  const Row maker = MakerModel().Objects(db()).Create({{"name", "scoped"}});
  CreateGadget("lamp", maker["id"]);
  SerializerOptions no_database = WithGadgets();
  no_database.database = nullptr;
  const ModelProtoSerializer shared(MakerModel(), no_database);
  modeltest::MakerWithGadgets out;
  {
    rpcforge::model::ScopedRelatedDatabase scope(&db());
    shared.ToMessage(maker, &out);
  }
  ASSERT_EQ(out.gadgets_size(), 1);
  EXPECT_EQ(out.gadgets(0).name(), "lamp");
  shared.ToMessage(maker, &out);  // the scope ended: nothing is loaded
  EXPECT_EQ(out.gadgets_size(), 0);
}

TEST_F(RelatedSerializerTest, RelatedManyIsReadOnly) {
  SerializerOptions options = WithGadgets();
  options.fields = {"id", "name", "gadgets"};
  ModelProtoSerializer s(MakerModel(), options);
  modeltest::MakerWithGadgets in;
  in.set_name("acme");
  in.add_gadgets()->set_name("lamp");
  EXPECT_THAT(s.ToValues(in, WriteMode::kCreate), ElementsAre(Pair("name", Value("acme"))));
  EXPECT_THAT(s.ToValues(in, WriteMode::kPartialUpdate, std::vector<std::string>{"gadgets"}),
              ::testing::IsEmpty());
}

TEST_F(RelatedSerializerTest, BadRelatedManyDeclarationIsInternal) {
  SerializerOptions options = WithDatabase();
  options.related_many = {{"gadgets", {"modeltest.gadget", "name"}}};
  const Row maker = MakerModel().Objects(db()).Create({{"name", "acme"}});
  modeltest::MakerWithGadgets out;
  EXPECT_THROW(ModelProtoSerializer(MakerModel(), options).ToMessage(maker, &out),
               rpcforge::Internal);
}
