// SPDX-License-Identifier: Apache-2.0
// The load test's baseline: the blog PostController's Retrieve and Create as a bare
// grpc++ sync service over SQLiteCpp, doing the same SQL on the same table as the
// rpcforge blog sample (no pipeline, no auth, no request log).
//
//   bare_blog_server DB_PATH   # prints "listening on 127.0.0.1:PORT"; SIGTERM stops it
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

#include "bare_server_main.h"
#include "blog/v1/post.grpc.pb.h"

namespace {

class BarePosts final : public blog::v1::PostController::Service {
 public:
  explicit BarePosts(const std::string& path)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000) {
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=NORMAL");
    db_.exec(
        "CREATE TABLE IF NOT EXISTS blog_post (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "title VARCHAR(100) NOT NULL, content TEXT NOT NULL, created TEXT NOT NULL)");
  }

  grpc::Status Retrieve(grpc::ServerContext*, const blog::v1::PostRetrieveRequest* req,
                        blog::v1::Post* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement q(db_, "SELECT id, title, content, created FROM blog_post WHERE id = ?");
    q.bind(1, static_cast<int64_t>(req->id()));
    if (!q.executeStep()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "Post: " + std::to_string(req->id()) + " not found");
    }
    Fill(q, resp);
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext*, const blog::v1::Post* req,
                      blog::v1::Post* resp) override {
    if (req->title().empty() || req->title().size() > 100) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "title");
    }
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement insert(db_,
                             "INSERT INTO blog_post (title, content, created) VALUES (?, ?, ?)");
    insert.bind(1, req->title());
    insert.bind(2, req->content());
    insert.bind(3, Now());
    insert.exec();
    resp->CopyFrom(*req);
    resp->set_id(db_.getLastInsertRowid());
    return grpc::Status::OK;
  }

 private:
  static std::string Now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000000Z", std::gmtime(&t));
    return buf;
  }
  static void Fill(SQLite::Statement& q, blog::v1::Post* post) {
    post->set_id(q.getColumn(0).getInt64());
    post->set_title(q.getColumn(1).getString());
    post->set_content(q.getColumn(2).getString());
  }

  std::mutex mu_;  // one SQLite connection, as a minimal hand-written server would
  SQLite::Database db_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bare_blog_server DB_PATH\n";
    return 2;
  }
  BarePosts service(argv[1]);
  return rpcforge::bench::ServeUntilSignal(service);
}
