// Tests for the decoder stage: get_room_list answer text -> RoomPage or
// FetchError. Fixtures: tests/fixtures/answers/ (the vendor's sample answer and
// variations of it).
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "exporter/decoder/room_page_decoder.h"
#include "tests/support/fixtures.h"

namespace {

using tle::testing::ReadAnswer;
using PageOrError = tle::Result<tle::RoomPage, tle::FetchError>;

int Rejected(const tle::RoomPage& page, tle::RejectReason reason) {
  return page.rejected[static_cast<std::size_t>(reason)];
}

// An OK answer whose RoomList holds the given room JSON texts.
std::string PageWith(const std::string& rooms_json) {
  return R"({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RequestId":"Id-1",)"
         R"("Response":{"Next":"n","RoomList":[)" +
         rooms_json + "]}}";
}

// Decodes a page holding one room; the room's fate is told by the counts.
PageOrError DecodeOne(const std::string& room_json) {
  INFO(room_json);
  PageOrError r = tle::DecodeRoomPage(PageWith(room_json));
  REQUIRE(r.ok());
  return r;
}

bool Accepted(const std::string& room_json) {
  const PageOrError r = DecodeOne(room_json);
  return r->rooms.size() == 1;
}

bool BadField(const std::string& room_json) {
  const PageOrError r = DecodeOne(room_json);
  return r->rooms.empty() && Rejected(*r, tle::RejectReason::kBadField) == 1 &&
         Rejected(*r, tle::RejectReason::kMissingRoomId) == 0;
}

bool MissingId(const std::string& room_json) {
  const PageOrError r = DecodeOne(room_json);
  return r->rooms.empty() &&
         Rejected(*r, tle::RejectReason::kMissingRoomId) == 1 &&
         Rejected(*r, tle::RejectReason::kBadField) == 0;
}

}  // namespace

TEST_CASE("The vendor's sample answer decodes", "[decoder]") {
  const PageOrError r =
      tle::DecodeRoomPage(ReadAnswer("vendor_sample_2rooms.json"));
  REQUIRE(r.ok());
  const tle::RoomPage& page = *r;
  CHECK(page.next == "1693271355-123123123123");
  CHECK(page.request_id == "Id-8c9858f01e954611ae2d4c1b1ed7d583-O-Seq-52720");
  REQUIRE(page.rooms.size() == 2);
  tle::Room first;
  first.room_id = "room_id0";
  first.room_name = "name";
  first.owner_account = "bren";
  first.cover_url = "cover_url";
  first.categories = {1, 2, 3};
  first.create_time = 1693271354;
  first.activity_status = 1;
  first.view_count = 1000;
  CHECK(page.rooms[0] == first);
  tle::Room last = first;
  last.room_id = "room_id19";
  last.view_count = 900;
  CHECK(page.rooms[1] == last);
  CHECK(Rejected(page, tle::RejectReason::kMissingRoomId) == 0);
  CHECK(Rejected(page, tle::RejectReason::kBadField) == 0);
  CHECK(Rejected(page, tle::RejectReason::kDuplicate) == 0);
}

TEST_CASE("A full page of 20 rooms decodes in order", "[decoder]") {
  const PageOrError r =
      tle::DecodeRoomPage(ReadAnswer("vendor_sample_20rooms.json"));
  REQUIRE(r.ok());
  REQUIRE(r->rooms.size() == 20);
  for (std::size_t i = 0; i < 20; ++i) {
    CHECK(r->rooms[i].room_id == "room_id" + std::to_string(i));
    CHECK(r->rooms[i].view_count ==
          1000 - static_cast<std::int64_t>(100 * i / 19));
  }
  CHECK(r->rooms.back().view_count == 900);
}

TEST_CASE("The last page has an empty Next", "[decoder]") {
  const PageOrError r = tle::DecodeRoomPage(ReadAnswer("last_page.json"));
  REQUIRE(r.ok());
  CHECK(r->next.empty());
  REQUIRE(r->rooms.size() == 1);
  CHECK(r->rooms[0].categories.empty());
  CHECK(r->rooms[0].view_count == 0);
}

TEST_CASE("Error answers become kApi with code, info and request id",
          "[decoder]") {
  PageOrError r = tle::DecodeRoomPage(ReadAnswer("error_usersig_expired.json"));
  CHECK(r.error().kind == tle::ErrorKind::kApi);
  CHECK(r.error().code == 70001);
  CHECK(r.error().message == "UserSig expired");
  CHECK(r.error().request_id == "Id-0a1b2c3d4e5f-O-Seq-1");
  CHECK(r.error().CodeLabel() == "70001");

  r = tle::DecodeRoomPage(ReadAnswer("error_internal.json"));
  CHECK(r.error().kind == tle::ErrorKind::kApi);
  CHECK(r.error().code == 100001);
  CHECK(r.error().request_id == "Id-internal-O-Seq-2");

  // A numeric-string ErrorCode counts as its number; the code wins over an "OK"
  // status.
  r = tle::DecodeRoomPage(
      R"({"ActionStatus":"OK","ErrorCode":"60007","RequestId":"x"})");
  CHECK(r.error().kind == tle::ErrorKind::kApi);
  CHECK(r.error().code == 60007);
  CHECK(r.error().request_id == "x");
  r = tle::DecodeRoomPage(R"({"ErrorCode":-5})");
  CHECK(r.error().kind == tle::ErrorKind::kApi);
  CHECK(r.error().code == -5);
}

TEST_CASE("Inconsistent envelopes are kDecode", "[decoder]") {
  // FAIL with ErrorCode 0 or without one: no code to act on (see the decisions
  // in the .cc).
  PageOrError r = tle::DecodeRoomPage(
      R"({"ActionStatus":"FAIL","ErrorCode":0,"ErrorInfo":"why","RequestId":"q"})");
  CHECK(r.error().kind == tle::ErrorKind::kDecode);
  CHECK(r.error().request_id == "q");
  CHECK(r.error().message.find("why") != std::string::npos);
  CHECK(tle::DecodeRoomPage(R"({"ActionStatus":"FAIL","RequestId":"q"})")
            .error()
            .kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage(R"({"ErrorCode":0,"Response":{"Next":""}})")
            .error()
            .kind == tle::ErrorKind::kDecode);  // ActionStatus missing
  CHECK(tle::DecodeRoomPage(
            R"({"ActionStatus":1,"ErrorCode":0,"Response":{"Next":""}})")
            .error()
            .kind == tle::ErrorKind::kDecode);
  for (const char* code : {R"("abc")", "true", "{}", "[]", "1.5", "null",
                           "18446744073709551615"}) {
    INFO(code);
    r = tle::DecodeRoomPage(
        std::string(R"({"ActionStatus":"OK","RequestId":"q","ErrorCode":)") +
        code + R"(,"Response":{"Next":""}})");
    CHECK(r.error().kind == tle::ErrorKind::kDecode);
    CHECK(r.error().request_id == "q");
  }
}

TEST_CASE("ErrorCode may be absent or a numeric string on success",
          "[decoder]") {
  PageOrError r = tle::DecodeRoomPage(
      R"({"ActionStatus":"OK","Response":{"Next":"","RoomList":[]}})");
  CHECK(r.ok());
  r = tle::DecodeRoomPage(
      R"({"ActionStatus":"OK","ErrorCode":"0","Response":{"Next":"a","RoomList":[]}})");
  REQUIRE(r.ok());
  CHECK(r->next == "a");
  CHECK(r->rooms.empty());
}

TEST_CASE("Response shapes", "[decoder]") {
  const auto ok_with = [](const std::string& response) {
    return tle::DecodeRoomPage(
        R"({"ActionStatus":"OK","ErrorCode":0,"RequestId":"rid","Response":)" +
        response + "}");
  };
  SECTION("OK without Response") {
    const PageOrError r =
        tle::DecodeRoomPage(ReadAnswer("ok_without_response.json"));
    CHECK(r.error().kind == tle::ErrorKind::kDecode);
    CHECK(r.error().request_id == "Id-noresp");
    CHECK(ok_with("null").error().kind == tle::ErrorKind::kDecode);
    CHECK(ok_with("[]").error().kind == tle::ErrorKind::kDecode);
  }
  SECTION("RoomList missing or null means no rooms") {
    PageOrError r = ok_with(R"({"Next":"c"})");
    REQUIRE(r.ok());
    CHECK(r->rooms.empty());
    CHECK(r->next == "c");
    CHECK(r->request_id == "rid");
    r = ok_with(R"({"Next":"","RoomList":null})");
    CHECK(r.ok());
  }
  SECTION("RoomList not an array") {
    for (const char* list : {R"("x")", "{}", "1", "true"}) {
      INFO(list);
      const PageOrError r =
          ok_with(std::string(R"({"Next":"","RoomList":)") + list + "}");
      CHECK(r.error().kind == tle::ErrorKind::kDecode);
      CHECK(r.error().request_id == "rid");
    }
  }
  SECTION("Next missing is the end only when RoomList is present") {
    PageOrError r = ok_with(R"({"RoomList":[{"RoomId":"a"}]})");
    REQUIRE(r.ok());
    CHECK(r->next.empty());
    CHECK(r->rooms.size() == 1);
    CHECK(ok_with("{}").error().kind == tle::ErrorKind::kDecode);
    CHECK(ok_with(R"({"Next":null})").error().kind == tle::ErrorKind::kDecode);
  }
  SECTION("Next not a string") {
    CHECK(ok_with(R"({"Next":5,"RoomList":[]})").error().kind ==
          tle::ErrorKind::kDecode);
    CHECK(ok_with(R"({"Next":[],"RoomList":[]})").error().kind ==
          tle::ErrorKind::kDecode);
  }
}

TEST_CASE("Not JSON, truncated, empty and huge answers are kDecode",
          "[decoder]") {
  CHECK(tle::DecodeRoomPage(ReadAnswer("malformed.json")).error().kind ==
        tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage(ReadAnswer("truncated.json")).error().kind ==
        tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage("").error().kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage("   ").error().kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage("<html>502 Bad Gateway</html>").error().kind ==
        tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage("[]").error().kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage("\"OK\"").error().kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage(std::string("{\"a\":1}\0", 8)).error().kind ==
        tle::ErrorKind::kDecode);
  const std::string good = ReadAnswer("vendor_sample_2rooms.json");
  CHECK(tle::DecodeRoomPage(good + "{}").error().kind ==
        tle::ErrorKind::kDecode);  // trailing text
  // Comments and trailing commas are not JSON.
  CHECK(tle::DecodeRoomPage(
            R"({"ActionStatus":"OK",/*x*/"Response":{"Next":""}})")
            .error()
            .kind == tle::ErrorKind::kDecode);
  CHECK(tle::DecodeRoomPage(R"({"ActionStatus":"OK","Response":{"Next":""},})")
            .error()
            .kind == tle::ErrorKind::kDecode);
  // Every prefix of a good answer short of its closing brace is refused, none
  // throws.
  for (std::size_t n = 0; n < good.rfind('}'); ++n) {
    INFO(n);
    const PageOrError r = tle::DecodeRoomPage(good.substr(0, n));
    CHECK(r.error().kind == tle::ErrorKind::kDecode);
  }
  // Deep nesting is refused, not a stack overflow.
  CHECK(tle::DecodeRoomPage(std::string(100000, '[') + std::string(100000, ']'))
            .error()
            .kind == tle::ErrorKind::kDecode);
}

TEST_CASE("Answers above kMaxAnswerBytes are refused without parsing",
          "[decoder]") {
  // Valid JSON, padded with whitespace just past the limit.
  const std::string good = ReadAnswer("vendor_sample_2rooms.json");
  std::string big = good;
  big.append(tle::kMaxAnswerBytes - good.size(), ' ');
  CHECK(tle::DecodeRoomPage(big).ok());  // exactly at the limit: parsed
  big.push_back(' ');
  const PageOrError r = tle::DecodeRoomPage(big);
  CHECK(r.error().kind == tle::ErrorKind::kDecode);
  CHECK(r.error().message.find("larger") != std::string::npos);
}

TEST_CASE("Odd but acceptable field types", "[decoder]") {
  const PageOrError r = tle::DecodeRoomPage(ReadAnswer("odd_types.json"));
  REQUIRE(r.ok());
  CHECK(r->next == "cursor-2");
  CHECK(Rejected(*r, tle::RejectReason::kBadField) == 0);
  CHECK(Rejected(*r, tle::RejectReason::kMissingRoomId) == 0);
  REQUIRE(r->rooms.size() == 4);
  // Owner_Account as a number (the vendor's other sample) is kept as its
  // decimal text.
  CHECK(r->rooms[0].owner_account == "144115212345678901");
  // Numeric RoomId, numeric strings and an integral float.
  const tle::Room& second = r->rooms[1];
  CHECK(second.room_id == "12345");
  CHECK(second.view_count == 42);
  CHECK(second.create_time == 1693271354);
  CHECK(second.activity_status == -3);
  CHECK(second.categories == std::vector<std::int64_t>{7, 8});
  CHECK(second.room_name.empty());
  CHECK(second.owner_account.empty());
  CHECK(second.cover_url.empty());
  const tle::Room& third = r->rooms[2];
  CHECK(third.view_count == 1000);
  CHECK(third.create_time == 1693271354);
  CHECK(third.categories.empty());
  CHECK(third.room_name.empty());
  // Unicode escapes become UTF-8; other escapes their characters.
  const tle::Room& fourth = r->rooms[3];
  CHECK(fourth.room_name ==
        "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \"q\" \\ / \n");
  CHECK(fourth.owner_account == "\xc3\xa9");
  CHECK(fourth.view_count == 0);
}

TEST_CASE("Each unusable room is counted under its reason", "[decoder]") {
  const PageOrError r = tle::DecodeRoomPage(ReadAnswer("bad_rooms.json"));
  REQUIRE(r.ok());
  REQUIRE(r->rooms.size() == 2);
  CHECK(r->rooms[0].room_id == "first");
  CHECK(r->rooms[1].room_id == "last");
  CHECK(Rejected(*r, tle::RejectReason::kMissingRoomId) == 6);
  CHECK(Rejected(*r, tle::RejectReason::kBadField) == 21);
  CHECK(Rejected(*r, tle::RejectReason::kDuplicate) == 0);
}

TEST_CASE("Room field rules one by one", "[decoder]") {
  SECTION("RoomId") {
    CHECK(Accepted(R"({"RoomId":"a"})"));
    CHECK(Accepted(R"({"RoomId":0})"));
    CHECK(Accepted(R"({"RoomId":18446744073709551615})"));
    CHECK(DecodeOne(R"({"RoomId":18446744073709551615})")->rooms[0].room_id ==
          "18446744073709551615");
    CHECK(DecodeOne(R"({"RoomId":-7})")->rooms[0].room_id == "-7");
    CHECK(MissingId(R"({})"));
    CHECK(MissingId(R"({"RoomId":""})"));
    CHECK(MissingId(R"({"RoomId":null})"));
    CHECK(MissingId(R"({"RoomId":false})"));
    CHECK(MissingId(R"({"RoomId":[]})"));
    CHECK(MissingId(R"({"RoomId":2.5})"));
    CHECK(MissingId(R"({"roomid":"a"})"));  // keys are case-sensitive
    // A missing RoomId is reported even when other fields are bad too.
    CHECK(MissingId(R"({"ViewCount":-1})"));
  }
  SECTION("Room not an object") {
    CHECK(BadField(R"("r")"));
    CHECK(BadField("null"));
    CHECK(BadField("[]"));
    CHECK(BadField("7"));
  }
  SECTION("Integers") {
    for (const char* field : {"ViewCount", "CreateTime", "ActivityStatus"}) {
      INFO(field);
      const auto room = [&](const std::string& value) {
        return std::string(R"({"RoomId":"a",")") + field + "\":" + value + "}";
      };
      CHECK(Accepted(room("0")));
      CHECK(Accepted(room("9007199254740992")));  // 2^53
      CHECK(Accepted(room("\"123\"")));
      CHECK(Accepted(room("5.0")));
      CHECK(Accepted(room("5e2")));
      CHECK(Accepted(room("null")));
      CHECK(BadField(room("9007199254740993")));
      CHECK(BadField(room("18446744073709551615")));
      CHECK(BadField(room("1e300")));
      CHECK(BadField(room("0.5")));
      CHECK(BadField(room("true")));
      CHECK(BadField(room("{}")));
      CHECK(BadField(room("[1]")));
      CHECK(BadField(room("\"\"")));
      CHECK(BadField(room("\"1.5\"")));
      CHECK(BadField(room("\" 1\"")));
      CHECK(BadField(room("\"0x10\"")));
      CHECK(BadField(room("\"99999999999999999999\"")));
    }
    CHECK(
        DecodeOne(R"({"RoomId":"a","ViewCount":"007"})")->rooms[0].view_count ==
        7);
    CHECK(DecodeOne(R"({"RoomId":"a","ViewCount":5e2})")->rooms[0].view_count ==
          500);
    CHECK(BadField(R"({"RoomId":"a","ViewCount":-1})"));
    CHECK(BadField(R"({"RoomId":"a","ViewCount":"-1"})"));
    CHECK(BadField(R"({"RoomId":"a","CreateTime":-1})"));
    CHECK(DecodeOne(R"({"RoomId":"a","ActivityStatus":-9007199254740992})")
              ->rooms[0]
              .activity_status == -9007199254740992);
    CHECK(BadField(R"({"RoomId":"a","ActivityStatus":-9007199254740993})"));
  }
  SECTION("Strings") {
    for (const char* field : {"RoomName", "CoverURL"}) {
      INFO(field);
      const auto room = [&](const std::string& value) {
        return std::string(R"({"RoomId":"a",")") + field + "\":" + value + "}";
      };
      CHECK(Accepted(room("\"\"")));
      CHECK(Accepted(room("null")));
      CHECK(BadField(room("5")));
      CHECK(BadField(room("true")));
      CHECK(BadField(room("[]")));
      CHECK(BadField(room("{}")));
    }
    CHECK(DecodeOne(R"({"RoomId":"a","Owner_Account":7})")
              ->rooms[0]
              .owner_account == "7");
    CHECK(DecodeOne(R"({"RoomId":"a","Owner_Account":7.0})")
              ->rooms[0]
              .owner_account == "7");
    CHECK(BadField(R"({"RoomId":"a","Owner_Account":7.5})"));
    CHECK(BadField(R"({"RoomId":"a","Owner_Account":false})"));
    CHECK(BadField(R"({"RoomId":"a","Owner_Account":{}})"));
    // Embedded NUL bytes survive.
    CHECK(DecodeOne(R"({"RoomId":"a\u0000b"})")->rooms[0].room_id ==
          std::string("a\0b", 3));
  }
  SECTION("Category") {
    CHECK(DecodeOne(R"({"RoomId":"a","Category":[]})")
              ->rooms[0]
              .categories.empty());
    CHECK(DecodeOne(R"({"RoomId":"a","Category":[3,2,1]})")
              ->rooms[0]
              .categories == std::vector<std::int64_t>{3, 2, 1});
    CHECK(DecodeOne(R"({"RoomId":"a","Category":[-1]})")->rooms[0].categories ==
          std::vector<std::int64_t>{-1});
    CHECK(Accepted(R"({"RoomId":"a","Category":null})"));
    CHECK(BadField(R"({"RoomId":"a","Category":[1,2,3,4]})"));
    CHECK(BadField(R"({"RoomId":"a","Category":1})"));
    CHECK(BadField(R"({"RoomId":"a","Category":"1"})"));
    CHECK(BadField(R"({"RoomId":"a","Category":{}})"));
    CHECK(BadField(R"({"RoomId":"a","Category":[null]})"));
    CHECK(BadField(R"({"RoomId":"a","Category":[[1]]})"));
    CHECK(BadField(R"({"RoomId":"a","Category":[0.5]})"));
  }
  SECTION("Unknown fields are ignored") {
    CHECK(Accepted(
        R"({"RoomId":"a","Extra":{"nested":[1,2,{}]},"Another":null})"));
  }
}

TEST_CASE("Invalid UTF-8 is kept byte for byte and never fails the page",
          "[decoder]") {
  const PageOrError r = tle::DecodeRoomPage(ReadAnswer("invalid_utf8.json"));
  REQUIRE(r.ok());
  REQUIRE(r->rooms.size() == 2);
  CHECK(r->rooms[0].room_name == "bad \xff\xfe bytes \xc3");
  CHECK(r->rooms[0].owner_account == "\xe2\x82");
  // Lone surrogate escapes become U+FFFD; an escaped backslash before "ud800"
  // is no escape.
  CHECK(r->rooms[1].room_name == "lone \xef\xbf\xbd end \xef\xbf\xbd x\\ud800");
  CHECK(r->rooms[1].view_count == 2);
}

TEST_CASE("Lone surrogates in any position", "[decoder]") {
  const auto name = [](const std::string& escaped) {
    const PageOrError r =
        DecodeOne(R"({"RoomId":"a","RoomName":")" + escaped + "\"}");
    REQUIRE(r->rooms.size() == 1);
    return r->rooms[0].room_name;
  };
  CHECK(name("\\ud800") == "\xef\xbf\xbd");
  CHECK(name("\\uDBFF\\uDBFF") == "\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(name("\\udc00\\ud800\\udc00") == "\xef\xbf\xbd\xf0\x90\x80\x80");
  CHECK(name("\\ud800\\n") == "\xef\xbf\xbd\n");
  CHECK(name("\\\\\\ud800") == "\\\xef\xbf\xbd");
  CHECK(name("\\ud83d\\ude00") == "\xf0\x9f\x98\x80");
  // Surrogates in keys are repaired the same way (such a key is simply
  // unknown).
  CHECK(Accepted(R"({"RoomId":"a","\ud800":1})"));
  // A bad escape is still a syntax error.
  CHECK(tle::DecodeRoomPage(PageWith(R"({"RoomId":"\uZZZZ"})")).error().kind ==
        tle::ErrorKind::kDecode);
  CHECK(
      tle::DecodeRoomPage(PageWith(R"({"RoomId":"\ud800\u"})")).error().kind ==
      tle::ErrorKind::kDecode);
}

TEST_CASE("The fuzzing seed corpus decodes without surprises", "[decoder]") {
  // Replays tests/fuzz/corpus/decoder (and any regression inputs kept there) in
  // every build, so the sanitizer build checks them even where libFuzzer is not
  // available.
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::path(TLE_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "decoder";
  int files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string body((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
    INFO(entry.path().string());
    const PageOrError r = tle::DecodeRoomPage(body);
    if (r.ok()) {
      for (const tle::Room& room : r->rooms) {
        CHECK_FALSE(room.room_id.empty());
        CHECK(room.view_count >= 0);
        CHECK(room.categories.size() <= 3);
      }
    } else {
      CHECK((r.error().kind == tle::ErrorKind::kApi ||
             r.error().kind == tle::ErrorKind::kDecode));
    }
    ++files;
  }
  CHECK(files >= 10);
}

TEST_CASE("Room strings over their caps reject the room as bad_field",
          "[decoder]") {
  struct Cap {
    const char* field;
    std::size_t max;
  };
  for (const Cap& cap : {Cap{"RoomId", tle::kMaxRoomIdBytes},
                         Cap{"RoomName", tle::kMaxRoomNameBytes},
                         Cap{"Owner_Account", tle::kMaxOwnerAccountBytes},
                         Cap{"CoverURL", tle::kMaxCoverUrlBytes}}) {
    INFO(cap.field);
    const auto room = [&cap](std::size_t length) {
      const std::string value(length, 'x');
      if (std::string(cap.field) == "RoomId")
        return R"({"RoomId":")" + value + "\"}";
      return R"({"RoomId":"a",")" + std::string(cap.field) + R"(":")" + value +
             "\"}";
    };
    CHECK(Accepted(room(cap.max)));
    CHECK(BadField(room(cap.max + 1)));
    CHECK(BadField(room(1 << 20)));  // the issue's 1 MB RoomId
  }
  // The cap counts bytes: 43 three-byte characters are 129 bytes.
  std::string wide;
  for (int i = 0; i < 43; ++i) wide += "\xe7\x94\xa8";
  CHECK(BadField(R"({"RoomId":")" + wide + "\"}"));
  // The stated caps.
  CHECK(tle::kMaxRoomIdBytes == 128);
  CHECK(tle::kMaxRoomNameBytes == 512);
  CHECK(tle::kMaxOwnerAccountBytes == 128);
  CHECK(tle::kMaxCoverUrlBytes == 2048);
  // Only the over-long room goes; the rest of the page stays.
  const PageOrError r = tle::DecodeRoomPage(
      PageWith(R"({"RoomId":"ok1"},{"RoomId":")" + std::string(1 << 20, 'r') +
               R"("},{"RoomId":"ok2"})"));
  REQUIRE(r.ok());
  REQUIRE(r->rooms.size() == 2);
  CHECK(r->rooms[1].room_id == "ok2");
  CHECK(Rejected(*r, tle::RejectReason::kBadField) == 1);
}

TEST_CASE("A cursor over 1 KiB fails the page as kDecode", "[decoder]") {
  const auto page = [](std::size_t length) {
    return R"({"ActionStatus":"OK","ErrorCode":0,"RequestId":"Id-c",)"
           R"("Response":{"Next":")" +
           std::string(length, 'c') + R"(","RoomList":[{"RoomId":"a"}]}})";
  };
  CHECK(tle::kMaxCursorBytes == 1024);
  PageOrError r = tle::DecodeRoomPage(page(tle::kMaxCursorBytes));
  REQUIRE(r.ok());
  CHECK(r->next.size() == tle::kMaxCursorBytes);
  for (std::size_t length : {tle::kMaxCursorBytes + 1, std::size_t{1} << 20}) {
    r = tle::DecodeRoomPage(page(length));
    CHECK(r.error().kind == tle::ErrorKind::kDecode);
    CHECK(r.error().request_id == "Id-c");
    CHECK(r.error().message == "Response.Next longer than 1024 bytes (" +
                                   std::to_string(length) + ")");
    CHECK_FALSE(r.ok());  // no cursor: a failure holds no page
  }
}

TEST_CASE("ErrorInfo and RequestId are valid UTF-8 and bounded", "[decoder]") {
  // Invalid UTF-8 and control characters in ErrorInfo.
  PageOrError r = tle::DecodeRoomPage(
      "{\"ActionStatus\":\"FAIL\",\"ErrorCode\":100002,\"ErrorInfo\":"
      "\"bad \xff\xfe \xc3 end\\n\\u0000x\",\"RequestId\":\"Id-\xff\"}");
  CHECK(r.error().kind == tle::ErrorKind::kApi);
  CHECK(r.error().code == 100002);
  CHECK(r.error().message ==
        "bad \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd end  x");
  CHECK(r.error().request_id == "Id-\xef\xbf\xbd");
  // A 1 MB ErrorInfo and RequestId are cut, at a character boundary.
  std::string wide;
  for (int i = 0; i < 200000; ++i) wide += "\xe7\x94\xa8";
  r = tle::DecodeRoomPage(
      R"({"ActionStatus":"FAIL","ErrorCode":70003,"ErrorInfo":")" + wide +
      R"(","RequestId":")" + std::string(1 << 20, 'q') + "\"}");
  CHECK(r.error().code == 70003);
  CHECK(r.error().message.size() <= tle::kMaxErrorInfoBytes);
  CHECK(r.error().message.size() == 252 + 3);  // 84 characters and "..."
  CHECK(r.error().message.substr(r.error().message.size() - 3) == "...");
  CHECK(r.error().request_id.size() == tle::kMaxRequestIdBytes);
  CHECK(r.error().request_id == std::string(125, 'q') + "...");
  // The ActionStatus-not-OK message carries the bounded ErrorInfo too.
  r = tle::DecodeRoomPage(
      R"({"ActionStatus":"FAIL","ErrorCode":0,"ErrorInfo":")" +
      std::string(100000, 'i') + "\"}");
  CHECK(r.error().kind == tle::ErrorKind::kDecode);
  CHECK(r.error().message.size() < 400);
}

TEST_CASE("UpstreamText repairs, blanks control characters and cuts",
          "[decoder]") {
  using tle::UpstreamText;
  CHECK(UpstreamText("", 10).empty());
  CHECK(UpstreamText("plain", 10) == "plain");
  CHECK(UpstreamText("exactly10!", 10) == "exactly10!");
  CHECK(UpstreamText("eleven byte", 10) == "eleven ...");
  CHECK(UpstreamText("a\tb\x7f", 10) == "a b ");
  // Overlong forms, surrogates, code points above U+10FFFF, stray
  // continuation bytes and truncated sequences are each replaced.
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(UpstreamText("\xc0\xaf", 20) == fffd + fffd);
  CHECK(UpstreamText("\xed\xa0\x80", 20) == fffd + fffd + fffd);
  CHECK(UpstreamText("\xf4\x90\x80\x80", 20) == fffd + fffd + fffd + fffd);
  CHECK(UpstreamText("\x80", 20) == fffd);
  CHECK(UpstreamText("\xe2\x82", 20) == fffd + fffd);
  // Valid multi-byte characters are kept, and never split by a cut.
  CHECK(UpstreamText("\xc3\xa9\xe7\x94\xa8\xf0\x9f\x98\x80", 20) ==
        "\xc3\xa9\xe7\x94\xa8\xf0\x9f\x98\x80");
  CHECK(UpstreamText("\xe7\x94\xa8\xe7\x94\xa8\xe7\x94\xa8", 8) ==
        "\xe7\x94\xa8...");
  // Work is bounded by the cap, not by the input.
  CHECK(UpstreamText(std::string(64 << 20, 'x'), 16) ==
        std::string(13, 'x') + "...");
}
