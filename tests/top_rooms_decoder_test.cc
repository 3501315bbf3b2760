// Tests for the top rooms' decoders: get_member_list / get_room_stats answer
// text -> MemberCount / the six totals, or FetchError; and their request
// bodies. Fixtures: tests/fixtures/answers/ (the vendor's sample answers).
#include "exporter/decoder/top_rooms_decoder.h"

#include <catch2/catch.hpp>
#include <string>

#include "exporter/decoder/room_page_decoder.h"
#include "tests/support/fixtures.h"

namespace tle {
namespace {

using testing::ReadAnswer;

std::string Ok(const std::string& response) {
  return R"({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RequestId":"Id-9",)"
         R"("Response":)" +
         response + "}";
}

const char* kTotals =
    R"("TotalViewers":1,"TotalGiftsSent":2,"TotalGiftCoins":3,)"
    R"("TotalUniqueGiftSenders":4,"TotalLikesReceived":5)";

TEST_CASE("the vendor's get_member_list sample gives its MemberCount") {
  Result<MemberCount, FetchError> r =
      DecodeMemberList(ReadAnswer("member_list_vendor_sample.json"));
  REQUIRE(r.ok());
  CHECK(r->member_count == 2);
  CHECK(r->request_id == "Id-a1b2c3d4e5f60718293a4b5c6d7e8f90-O-Seq-52720");
}

TEST_CASE("the vendor's get_room_stats sample gives the six totals") {
  Result<RoomStats, FetchError> r =
      DecodeRoomStats(ReadAnswer("room_stats_vendor_sample.json"));
  REQUIRE(r.ok());
  CHECK(r->totals == RoomTotals{1024, 56, 8800, 12, 3200, 450});
  CHECK(r->request_id == "Id-0f1e2d3c4b5a69788796a5b4c3d2e1f0-O-Seq-63491");
}

TEST_CASE("an error answer is kApi with its code, ErrorInfo and RequestId") {
  for (const std::string& body : {ReadAnswer("error_room_not_found.json")}) {
    Result<MemberCount, FetchError> m = DecodeMemberList(body);
    CHECK(m.error().kind == ErrorKind::kApi);
    CHECK(m.error().code == 100004);
    CHECK(m.error().message == "The room does not exist");
    CHECK(m.error().request_id == "Id-gone-O-Seq-7");
    Result<RoomStats, FetchError> s = DecodeRoomStats(body);
    CHECK(s.error().kind == ErrorKind::kApi);
    CHECK(s.error().code == 100004);
    CHECK(s.error().CodeLabel() == "100004");
  }
  Result<MemberCount, FetchError> internal =
      DecodeMemberList(ReadAnswer("error_internal.json"));
  CHECK(internal.error().code == 100001);
  CHECK(ClassifyError(internal.error()) == ErrorAction::kRetry);
}

TEST_CASE(
    "malformed answers are kDecode, with the RequestId when there is one") {
  SECTION("truncated") {
    std::string body = ReadAnswer("member_list_vendor_sample.json");
    Result<MemberCount, FetchError> r =
        DecodeMemberList(body.substr(0, body.size() / 2));
    CHECK(r.error().kind == ErrorKind::kDecode);
    CHECK(r.error().request_id ==
          "Id-a1b2c3d4e5f60718293a4b5c6d7e8f90-O-Seq-52720");
  }
  SECTION("OK without Response, or Response not an object") {
    const char* bodies[] = {
        R"({"ActionStatus":"OK","ErrorCode":0,"RequestId":"Id-1"})",
        R"({"ActionStatus":"OK","ErrorCode":0,"Response":[1]})",
        R"([1,2])",
        R"({"ActionStatus":"FAIL","ErrorCode":0})",
        R"({"ActionStatus":"OK","ErrorCode":"abc","Response":{}})",
    };
    for (const char* body : bodies) {
      INFO(body);
      CHECK(DecodeMemberList(body).error().kind == ErrorKind::kDecode);
      CHECK(DecodeRoomStats(body).error().kind == ErrorKind::kDecode);
    }
  }
  SECTION("larger than the cap") {
    std::string huge = Ok(R"({"MemberCount":1,"Pad":")" +
                          std::string(kMaxAnswerBytes, 'x') + "\"}");
    CHECK(DecodeMemberList(huge).error().kind == ErrorKind::kDecode);
  }
}

TEST_CASE("ErrorInfo and RequestId are capped, valid UTF-8 text") {
  const std::string body =
      R"({"ActionStatus":"FAIL","ErrorCode":100001,"ErrorInfo":")" +
      std::string(1000, 'e') + "\xff\\u0001" + R"(","RequestId":")" +
      std::string(500, 'r') + R"("})";
  Result<MemberCount, FetchError> r = DecodeMemberList(body);
  CHECK(r.error().code == 100001);
  CHECK(r.error().message.size() <= kMaxErrorInfoBytes);
  CHECK(r.error().request_id.size() <= kMaxRequestIdBytes);
  CHECK(UpstreamText(r.error().message, kMaxErrorInfoBytes) ==
        r.error().message);
  Result<RoomStats, FetchError> bad =
      DecodeRoomStats(R"({"ActionStatus":"FAIL","ErrorCode":100002,)"
                      R"("ErrorInfo":"bad \u0007 þ"})");
  CHECK(bad.error().message.find('\x07') == std::string::npos);
  CHECK(UpstreamText(bad.error().message, kMaxErrorInfoBytes) ==
        bad.error().message);
}

TEST_CASE("MemberCount must be a count") {
  CHECK(DecodeMemberList(Ok(R"({"MemberCount":0})"))->member_count == 0);
  CHECK(DecodeMemberList(Ok(R"({"MemberCount":"17"})"))->member_count == 17);
  CHECK(DecodeMemberList(Ok(R"({"MemberCount":9.0})"))->member_count == 9);
  CHECK(DecodeMemberList(Ok(R"({"MemberCount":9007199254740992})")).ok());
  for (const char* bad :
       {R"({})", R"({"MemberCount":null})", R"({"MemberCount":-1})",
        R"({"MemberCount":1.5})", R"({"MemberCount":"many"})",
        R"({"MemberCount":9007199254740993})", R"({"MemberCount":true})"}) {
    INFO(bad);
    Result<MemberCount, FetchError> r = DecodeMemberList(Ok(bad));
    CHECK(r.error().kind == ErrorKind::kDecode);
    CHECK(r.error().request_id == "Id-9");
  }
}

TEST_CASE("every total must be present and a count") {
  Result<RoomStats, FetchError> ok = DecodeRoomStats(
      Ok(std::string("{") + kTotals + R"(,"TotalMsgCount":6})"));
  REQUIRE(ok.ok());
  CHECK(ok->totals == RoomTotals{1, 2, 3, 4, 5, 6});
  Result<RoomStats, FetchError> missing =
      DecodeRoomStats(Ok(std::string("{") + kTotals + "}"));
  CHECK(missing.error().kind == ErrorKind::kDecode);
  CHECK(missing.error().message.find("TotalMsgCount") != std::string::npos);
  CHECK_FALSE(missing.ok());  // no partial totals: a failure holds none
  for (const char* bad : {"-1", "0.5", "\"x\"", "[]"}) {
    INFO(bad);
    Result<RoomStats, FetchError> r = DecodeRoomStats(
        Ok(std::string("{") + kTotals + R"(,"TotalMsgCount":)" + bad + "}"));
    CHECK(r.error().kind == ErrorKind::kDecode);
  }
}

TEST_CASE("request bodies are the vendor's, with the RoomId escaped") {
  CHECK(MemberListRequest("room_1") == R"({"RoomId":"room_1","Next":""})");
  CHECK(RoomStatsRequest("room_1") == R"({"RoomId":"room_1"})");
  CHECK(RoomStatsRequest("a\"b\\c\n") == R"({"RoomId":"a\"b\\c\n"})");
}

}  // namespace
}  // namespace tle
