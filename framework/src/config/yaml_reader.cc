// SPDX-License-Identifier: Apache-2.0
// YAML -> v1::Config. Walks the yaml-cpp node tree alongside the message descriptor
// rather than converting through JSON, so that every error keeps its line and column.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/internal.h"
#include "rpcforge/config/config.h"

namespace rpcforge::config {
namespace {

using config_internal::ElementPath;
using config_internal::ExpectedKind;
using config_internal::FieldPath;
using config_internal::IsDuration;
using config_internal::MapEntryPath;
using config_internal::Quote;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(n.Scalar());
    default:
      return "null";
  }
}

// A quoted scalar carries the non-specific tag "!"; a plain one "?".
bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!"; }

// DocumentMarks records, for each document of a stream, where it starts and where its
// root node is (what an error about the document points at), and nothing else.
class DocumentMarks : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    YAML::Mark root;
    bool has_root = false;
  };
  std::vector<Document> documents;

  void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, mark}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Root(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Root(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Root(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Root(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Root(mark);
  }
  void OnMapEnd() override {}

 private:
  void Root(const YAML::Mark& mark) {
    if (documents.empty() || documents.back().has_root) return;
    documents.back().root = mark;
    documents.back().has_root = true;
  }
};

class Reader {
 public:
  Reader(std::string source, LoadResult* result) : source_(std::move(source)), result_(result) {}

  void Error(const YAML::Mark& mark, const std::string& path, std::string message) {
    ConfigError e;
    e.path = path;
    e.source = source_;
    if (!mark.is_null()) {
      e.line = mark.line + 1;
      e.column = mark.column + 1;
    }
    e.message = std::move(message);
    result_->errors.push_back(std::move(e));
  }

  void Record(const std::string& path, const YAML::Mark& mark) {
    if (mark.is_null()) return;
    result_->locations[path] = Position{source_, mark.line + 1, mark.column + 1};
  }

  // ReadMessage reads the mapping `node` into `msg`. `where` is the mark to report when
  // `node` has none of its own (a null value's mark points past its key).
  void ReadMessage(const YAML::Node& node, const YAML::Mark& where, Message* msg,
                   const std::string& path) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Error(MarkOf(node, where), path, "expected a mapping, got " + Describe(node));
      return;
    }
    const Descriptor* d = msg->GetDescriptor();
    std::map<std::string, int> seen;  // key -> line of first occurrence
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: `it->first` and `it->second` live in a proxy that dies with the
      // expression (a reference to them dangles). A Node copy is a cheap handle.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!Visit(key.Mark())) return;
      if (!key.IsScalar()) {
        Error(key.Mark(), path, "keys must be plain names, got " + Describe(key));
        continue;
      }
      const std::string name = key.Scalar();
      const std::string child = FieldPath(path, name);
      if (!CheckDuplicate(&seen, name, key.Mark(), child)) continue;
      const FieldDescriptor* f = d->FindFieldByName(name);
      if (f == nullptr) {
        Error(key.Mark(), child, config_internal::UnknownFieldMessage(d, name));
        continue;
      }
      Record(child, key.Mark());
      ReadField(value, key.Mark(), msg, f, child);
    }
  }

 private:
  static YAML::Mark MarkOf(const YAML::Node& node, const YAML::Mark& fallback) {
    return node.IsNull() || node.Mark().is_null() ? fallback : node.Mark();
  }

  bool CheckDuplicate(std::map<std::string, int>* seen, const std::string& name,
                      const YAML::Mark& mark, const std::string& path) {
    auto [it, inserted] = seen->emplace(name, mark.line + 1);
    if (inserted) return true;
    Error(mark, path,
          "duplicate key " + Quote(name) + " (first at line " + std::to_string(it->second) + ")");
    return false;
  }

  void ReadField(const YAML::Node& value, const YAML::Mark& key_mark, Message* msg,
                 const FieldDescriptor* f, const std::string& path) {
    if (value.IsNull()) return;  // `key:` with no value keeps the default
    const Reflection* r = msg->GetReflection();
    if (f->is_map()) {
      ReadMap(value, msg, f, path);
    } else if (f->is_repeated()) {
      if (!value.IsSequence()) {
        Error(value.Mark(), path, "expected a list, got " + Describe(value));
        return;
      }
      int index = 0;
      for (const YAML::Node& element : value) {
        if (!Visit(element.Mark())) return;
        const std::string element_path = ElementPath(path, index++);
        Record(element_path, element.Mark());
        if (f->message_type() != nullptr && !IsDuration(f)) {
          if (element.IsNull()) {
            Error(element.Mark(), element_path, "expected a mapping, got null");
            continue;
          }
          ReadMessage(element, element.Mark(), r->AddMessage(msg, f), element_path);
        } else {
          ReadScalar(element, element.Mark(), msg, f, element_path);
        }
      }
    } else if (f->message_type() != nullptr && !IsDuration(f)) {
      ReadMessage(value, key_mark, r->MutableMessage(msg, f), path);
    } else {
      ReadScalar(value, key_mark, msg, f, path);
    }
  }

  void ReadMap(const YAML::Node& value, Message* msg, const FieldDescriptor* f,
               const std::string& path) {
    if (!value.IsMap()) {
      Error(value.Mark(), path, "expected a mapping, got " + Describe(value));
      return;
    }
    const Reflection* r = msg->GetReflection();
    const FieldDescriptor* key_field = f->message_type()->map_key();
    const FieldDescriptor* value_field = f->message_type()->map_value();
    std::map<std::string, int> seen;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const YAML::Node key = it->first;  // copies, as in ReadMessage
      const YAML::Node entry_value = it->second;
      if (!Visit(key.Mark())) return;
      if (!key.IsScalar()) {
        Error(key.Mark(), path, "keys must be scalars, got " + Describe(key));
        continue;
      }
      const std::string entry_path = MapEntryPath(path, key.Scalar());
      if (!CheckDuplicate(&seen, key.Scalar(), key.Mark(), entry_path)) continue;
      Record(entry_path, key.Mark());
      if (entry_value.IsNull()) {
        Error(key.Mark(), entry_path, "expected " + ExpectedKind(value_field) + ", got null");
        continue;
      }
      Message* entry = r->AddMessage(msg, f);
      std::string error = config_internal::SetScalar(entry, key_field, key.Scalar(), false);
      if (error.empty()) {
        if (value_field->message_type() != nullptr && !IsDuration(value_field)) {
          ReadMessage(entry_value, key.Mark(),
                      entry->GetReflection()->MutableMessage(entry, value_field), entry_path);
          continue;
        }
        if (!entry_value.IsScalar()) {
          error = "expected " + ExpectedKind(value_field) + ", got " + Describe(entry_value);
        } else {
          error = config_internal::SetScalar(entry, value_field, entry_value.Scalar(),
                                             IsQuoted(entry_value));
        }
      }
      if (!error.empty()) {
        r->RemoveLast(msg, f);
        Error(MarkOf(entry_value, key.Mark()), entry_path, error);
      }
    }
  }

  void ReadScalar(const YAML::Node& value, const YAML::Mark& where, Message* msg,
                  const FieldDescriptor* f, const std::string& path) {
    if (value.IsNull() && !f->is_repeated()) return;
    if (!value.IsScalar()) {
      std::string kind = ExpectedKind(f);
      if (f->is_repeated()) {  // an element of a list of scalars
        kind = f->enum_type() != nullptr
                   ? "one of " + config_internal::EnumValueNames(f->enum_type())
               : IsDuration(f) ? "a duration"
                               : "a scalar";
      }
      Error(MarkOf(value, where), path, "expected " + kind + ", got " + Describe(value));
      return;
    }
    std::string error = config_internal::SetScalar(msg, f, value.Scalar(), IsQuoted(value));
    if (!error.empty()) Error(value.Mark(), path, error);
  }

  // Visit counts one value read and is false once the document holds more than
  // kMaxValues: aliases let a small file name the same list many times over, so the
  // work is bounded by values visited, not by the file's size.
  bool Visit(const YAML::Mark& mark) {
    if (++visited_ <= kMaxValues) return true;
    if (visited_ == kMaxValues + 1) {
      Error(mark, "",
            "the document has more than " + std::to_string(kMaxValues) +
                " values (aliases count once per use)");
    }
    return false;
  }

  static constexpr size_t kMaxValues = 100000;
  std::string source_;
  LoadResult* result_;
  size_t visited_ = 0;
};

}  // namespace

LoadResult LoadString(std::string_view yaml, std::string source_name) {
  LoadResult result;
  Reader reader(source_name, &result);
  const std::string text(yaml);
  YAML::Node root;
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7's never returns, allocating a null document per
    // turn, when a document starts with a token its parser does not consume, e.g. a
    // lone ',' (jbeder/yaml-cpp#1040, fixed in 0.8 by #1319). So count the documents
    // first, stopping at one that starts where the previous one did, then load the
    // only one.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentMarks scan;
    std::optional<YAML::Mark> stuck;
    while (parser.HandleNextDocument(scan)) {
      const auto& d = scan.documents;
      if (d.size() >= 2 && d[d.size() - 1].start.pos == d[d.size() - 2].start.pos) {
        stuck = d.back().start;
        scan.documents.pop_back();
        break;
      }
    }
    if (scan.documents.size() > 1) {
      reader.Error(scan.documents[1].root, "",
                   "expected one YAML document, found " + std::to_string(scan.documents.size()));
      return result;
    }
    if (stuck) {
      const size_t at = static_cast<size_t>(stuck->pos);
      reader.Error(*stuck, "",
                   "YAML syntax error: unexpected " +
                       (at < text.size() ? Quote(std::string(1, text[at])) : "end of input"));
      return result;
    }
    if (scan.documents.empty()) return result;  // empty file, or only comments
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    reader.Error(e.mark, "", "YAML syntax error: " + e.msg);
    return result;
  } catch (const YAML::Exception& e) {
    reader.Error(e.mark, "", std::string("cannot parse YAML: ") + e.what());
    return result;
  }
  if (root.IsNull()) return result;
  if (!root.IsMap()) {
    reader.Error(root.Mark(), "", "expected a mapping, got " + Describe(root));
    return result;
  }
  reader.ReadMessage(root, root.Mark(), &result.config, "");
  return result;
}

LoadResult LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    ConfigError e;
    e.source = path;
    e.message = std::string("cannot read the config file: ") + std::strerror(errno);
    result.errors.push_back(std::move(e));
    return result;
  }
  // A config file is small; refuse a huge one before parsing it.
  constexpr std::streamsize kMaxBytes = 1 << 20;
  std::string text(static_cast<size_t>(kMaxBytes) + 1, '\0');
  in.read(text.data(), kMaxBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxBytes)) {
    LoadResult result;
    ConfigError e;
    e.source = path;
    e.message = "the config file is larger than 1 MiB";
    result.errors.push_back(std::move(e));
    return result;
  }
  return LoadString(text, path);
}

}  // namespace rpcforge::config
