// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL load test's baseline (ci/load_postgres): the blog PostController's
// Retrieve and Create as a bare grpc++ sync service over libpq, doing the same SQL on
// the same table as the rpcforge blog sample on PostgreSQL (no pipeline, no auth, no
// request log). A pool of 8 connections, as rpcforge's default, each with both
// statements prepared.
//
//   bare_blog_server_pg URL   # prints "listening on 127.0.0.1:PORT"; SIGTERM stops it
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "bare_server_main.h"
#include "blog/v1/post.grpc.pb.h"

namespace {

constexpr int kConnections = 8;

class Pool {
 public:
  explicit Pool(const std::string& url) {
    for (int i = 0; i < kConnections; ++i) {
      PGconn* c = PQconnectdb(url.c_str());
      if (PQstatus(c) != CONNECTION_OK) {
        std::cerr << "cannot connect: " << PQerrorMessage(c);
        std::exit(1);
      }
      Check(PQexec(c, "SET TimeZone = 'UTC'"));
      Check(PQprepare(c, "retrieve",
                      "SELECT id, title, content, created FROM blog_post WHERE id = $1", 1,
                      nullptr));
      Check(PQprepare(c, "create",
                      "INSERT INTO blog_post (title, content, created) VALUES ($1, $2, $3) "
                      "RETURNING id",
                      3, nullptr));
      free_.push_back(c);
    }
  }
  PGconn* Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    PGconn* c = free_.back();
    free_.pop_back();
    return c;
  }
  void Give(PGconn* c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }
  static void Check(PGresult* r) {
    const ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      std::cerr << "setup failed: " << PQresultErrorMessage(r);
      std::exit(1);
    }
    PQclear(r);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PGconn*> free_;
};

class BarePosts final : public blog::v1::PostController::Service {
 public:
  explicit BarePosts(const std::string& url) : pool_(url) {}

  grpc::Status Retrieve(grpc::ServerContext*, const blog::v1::PostRetrieveRequest* req,
                        blog::v1::Post* resp) override {
    const std::string id = std::to_string(req->id());
    const char* values[] = {id.c_str()};
    PGconn* c = pool_.Take();
    PGresult* r = PQexecPrepared(c, "retrieve", 1, values, nullptr, nullptr, 0);
    pool_.Give(c);
    grpc::Status status = grpc::Status::OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, "database error");
    } else if (PQntuples(r) == 0) {
      status = grpc::Status(grpc::StatusCode::NOT_FOUND, "Post: " + id + " not found");
    } else {
      resp->set_id(std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10));
      resp->set_title(PQgetvalue(r, 0, 1));
      resp->set_content(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return status;
  }

  grpc::Status Create(grpc::ServerContext*, const blog::v1::Post* req,
                      blog::v1::Post* resp) override {
    if (req->title().empty() || req->title().size() > 100) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "title");
    }
    const std::string now = Now();
    const char* values[] = {req->title().c_str(), req->content().c_str(), now.c_str()};
    PGconn* c = pool_.Take();
    PGresult* r = PQexecPrepared(c, "create", 3, values, nullptr, nullptr, 0);
    pool_.Give(c);
    grpc::Status status = grpc::Status::OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, "database error");
    } else {
      resp->CopyFrom(*req);
      resp->set_id(std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10));
    }
    PQclear(r);
    return status;
  }

 private:
  static std::string Now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000000Z", std::gmtime(&t));
    return buf;
  }

  Pool pool_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bare_blog_server_pg URL\n";
    return 2;
  }
  BarePosts service(argv[1]);
  return rpcforge::bench::ServeUntilSignal(service);
}
