# SPDX-License-Identifier: Apache-2.0
"""A client nobody in this project wrote: Debian's python3-grpcio calling helloworld.

Usage: python_client.py GEN_DIR ADDRESS
Prints one line per check; the e2e test compares them.
"""
import importlib.util
import os
import sys

import grpc


def load(gen_dir, rel, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(gen_dir, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    gen_dir, address = sys.argv[1], sys.argv[2]
    hello = load(gen_dir, "helloworld/v1/helloworld_pb2.py", "helloworld_pb2")
    status_pb2 = load(gen_dir, "google/rpc/status_pb2.py", "status_pb2")
    details_pb2 = load(gen_dir, "google/rpc/error_details_pb2.py", "error_details_pb2")

    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=10)
    say = channel.unary_unary(
        "/helloworld.v1.Greeter/SayHello",
        request_serializer=hello.HelloRequest.SerializeToString,
        response_deserializer=hello.HelloReply.FromString)
    replies = channel.unary_stream(
        "/helloworld.v1.Greeter/LotsOfReplies",
        request_serializer=hello.HelloRequest.SerializeToString,
        response_deserializer=hello.HelloReply.FromString)

    reply, call = say.with_call(hello.HelloRequest(name="Ada"), timeout=10)
    print("reply:", reply.message)
    print("trailer:", dict(call.trailing_metadata()).get("x-greeted"))

    try:
        say(hello.HelloRequest(name="John"), timeout=10)
        print("john: OK?!")
    except grpc.RpcError as e:
        print("john:", e.code().name, e.details())

    try:
        say(hello.HelloRequest(name=""), timeout=10)
        print("blank: OK?!")
    except grpc.RpcError as e:
        raw = dict(e.trailing_metadata()).get("grpc-status-details-bin")
        status = status_pb2.Status.FromString(raw)
        bad = details_pb2.BadRequest()
        status.details[0].Unpack(bad)
        for v in bad.field_violations:
            print("blank:", e.code().name, v.field, v.description)

    got = [r.message for r in replies(hello.HelloRequest(name="Bo", count=3), timeout=10)]
    print("stream:", len(got), got[-1])


if __name__ == "__main__":
    main()
