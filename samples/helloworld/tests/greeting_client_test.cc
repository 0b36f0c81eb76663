// SPDX-License-Identifier: Apache-2.0
// Testing code that *calls* a service: grpc's generated MockGreeterStub with gMock.
#include "greeting_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "helloworld/v1/helloworld_mock.grpc.pb.h"

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::Return;
using ::testing::SetArgPointee;

// [mock_stub_test]
TEST(GreetAll, ReportsRefusalsWithoutStopping) {
  helloworld::v1::MockGreeterStub stub;
  helloworld::v1::HelloReply hello_ada;
  hello_ada.set_message("Hello, Ada!");
  EXPECT_CALL(stub, SayHello(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(hello_ada), Return(grpc::Status::OK)))
      .WillOnce(
          Return(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Cannot say hello to John")));

  EXPECT_THAT(helloworld::GreetAll(stub, {"Ada", "John"}),
              ElementsAre("Hello, Ada!", "(refused: Cannot say hello to John)"));
}
// [mock_stub_test end]
