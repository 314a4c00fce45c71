// Discovery's state machine against a scripted HTTP server: lookups retried until they
// answer, refreshes that never double a request, and a reload that re-runs only what changed.
#include "robot/discovery.h"

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "fake_http_server.h"
#include "loop_harness.h"

namespace robotd {
namespace {

// The info and api server in one: each path answers from a table; a path may fail first.
class Server {
  public:
    Server()
        : http_([this](const FakeHttpServer::Request& r) {
              std::lock_guard<std::mutex> lock(mutex_);
              const std::string path = r.target.substr(0, r.target.find('?'));
              for (auto& [prefix, failures] : failures_) {
                  if (path.rfind(prefix, 0) == 0 && failures > 0) {
                      --failures;
                      return FakeHttpServer::answer(500, {}, "{}");
                  }
              }
              for (const auto& [prefix, body] : bodies_)
                  if (path.rfind(prefix, 0) == 0)
                      return FakeHttpServer::answer(200, "Content-Type: application/json\r\n",
                                                    body);
              return FakeHttpServer::answer(404, {}, "{}");
          }) {
        bodies_ = {{"/get_control_host_port/", R"({"host":"127.0.0.1","port":1001})"},
                   {"/get_chat_host_port/", R"({"host":"127.0.0.1","port":1002})"},
                   {"/get_robot_owner/", R"({"owner":"alice"})"},
                   {"/api/v1/robots/", R"({"xres":640,"yres":480})"},
                   {"/api/v1/accounts/", R"({"moderators":["mod1"]})"},
                   {"/get_websocket_relay_host/", R"({"host":"127.0.0.1"})"},
                   {"/get_video_port/", R"({"mpeg_stream_port":1003})"},
                   {"/get_audio_port/", R"({"audio_stream_port":1004})"}};
    }
    void fail_first(const std::string& prefix, int n) {
        std::lock_guard<std::mutex> lock(mutex_);
        failures_[prefix] = n;
    }
    // Requests whose path starts with `prefix`.
    size_t count(const std::string& prefix) const {
        size_t n = 0;
        for (const auto& r : http_.requests()) n += r.target.rfind(prefix, 0) == 0 ? 1 : 0;
        return n;
    }
    std::string url() const { return http_.url(); }
    size_t http_requests() const { return http_.request_count(); }

  private:
    mutable std::mutex mutex_;
    std::map<std::string, int> failures_;
    std::vector<std::pair<std::string, std::string>> bodies_;
    FakeHttpServer http_;
};

class DiscoveryTest : public LoopTest {
  protected:
    void SetUp() override {
        LoopTest::SetUp();
        ConfigResult r = parse_config(
            "[robot]\nrobot_id=r1\ncamera_id=c1\n[misc]\ninfo_server=" + server_.url() +
                "\napi_server=" + server_.url() + "\nlookup_timeout=2\n",
            "test.conf");
        ASSERT_TRUE(r.ok());
        config_ = r.config;
        discovery_ = std::make_unique<Discovery>(loop_, log_, config_);
        discovery_->on_resolved([this](LookupId id) { resolved_.push_back(id); });
    }
    size_t resolved(LookupId id) const {
        size_t n = 0;
        for (LookupId r : resolved_) n += r == id ? 1 : 0;
        return n;
    }
    bool all_answered() const {
        const Endpoints& e = discovery_->endpoints();
        return e.control && e.chat && e.owner && e.settings && e.moderators && e.relay_host &&
               e.video_port && e.audio_port;
    }

    Server server_;
    Config config_;
    std::unique_ptr<Discovery> discovery_;
    std::vector<LookupId> resolved_;
};

TEST_F(DiscoveryTest, EveryLookupAnswersAndTheOwnersModeratorsFollow) {
    discovery_->start();
    ASSERT_TRUE(run_until([&] { return all_answered(); }, 5000));
    EXPECT_EQ(discovery_->endpoints().control->port, 1001);
    EXPECT_EQ(*discovery_->endpoints().owner, "alice");
    EXPECT_EQ(server_.count("/api/v1/accounts/alice"), 1u);
    EXPECT_EQ(resolved(LookupId::Control), 1u);
}

TEST_F(DiscoveryTest, AFailingLookupIsRetriedWithGrowingDelaysUntilItAnswers) {
    server_.fail_first("/get_control_host_port/", 2);
    discovery_->start();
    const int64_t t0 = mono_us();
    ASSERT_TRUE(run_until([&] { return discovery_->endpoints().control.has_value(); }, 8000));
    // Retries after 1 s, then 1..2 s: the answer comes no sooner than 2 s after the start.
    EXPECT_GE(mono_us() - t0, 2000000);
    EXPECT_EQ(server_.count("/get_control_host_port/"), 3u);
    EXPECT_EQ(resolved(LookupId::Control), 1u);
    EXPECT_EQ(server_.count("/get_chat_host_port/"), 1u) << "the others were not held up";
}

TEST_F(DiscoveryTest, AFailingLookupIsTheOutageForTheStatusLineUntilItAnswers) {
    EXPECT_EQ(discovery_->outage(), "");
    server_.fail_first("/get_control_host_port/", 2);
    discovery_->start();
    ASSERT_TRUE(run_until([&] { return !discovery_->outage().empty(); }, 3000));
    // The first minute gives no duration; the reason is the last attempt's.
    EXPECT_EQ(discovery_->outage().rfind("control lookup failing: ", 0), 0u)
        << discovery_->outage();
    EXPECT_NE(discovery_->outage().find("500"), std::string::npos) << discovery_->outage();
    ASSERT_TRUE(run_until([&] { return discovery_->endpoints().control.has_value(); }, 8000));
    EXPECT_EQ(discovery_->outage(), "");
}

TEST_F(DiscoveryTest, ARefreshWhileALookupWaitsToRetryAddsNoRequest) {
    server_.fail_first("/get_chat_host_port/", 1);
    discovery_->start();
    ASSERT_TRUE(run_until([&] { return server_.count("/get_chat_host_port/") == 1; }, 3000));
    run_for(200);  // the failure is in: a retry is armed
    for (int i = 0; i < 5; ++i) discovery_->refresh(LookupId::Chat);
    ASSERT_TRUE(run_until([&] { return discovery_->endpoints().chat.has_value(); }, 5000));
    EXPECT_EQ(server_.count("/get_chat_host_port/"), 2u);
    // Once answered, a refresh asks once.
    discovery_->refresh(LookupId::Chat);
    discovery_->refresh(LookupId::Chat);
    ASSERT_TRUE(run_until([&] { return resolved(LookupId::Chat) == 2; }, 3000));
    EXPECT_EQ(server_.count("/get_chat_host_port/"), 3u);
}

TEST_F(DiscoveryTest, AReloadRerunsOnlyTheLookupsWhoseUrlChanged) {
    discovery_->start();
    ASSERT_TRUE(run_until([&] { return all_answered(); }, 5000));
    // Another camera: the relay, video and audio lookups run again; the rest keep their answers.
    config_.robot.camera_id = "c2";
    discovery_->reconfigure();
    ASSERT_TRUE(run_until([&] { return server_.count("/get_video_port/c2") == 1; }, 3000));
    ASSERT_TRUE(run_until([&] { return server_.count("/get_audio_port/c2") == 1; }, 3000));
    EXPECT_EQ(server_.count("/get_websocket_relay_host/c2"), 1u);
    EXPECT_EQ(server_.count("/get_control_host_port/"), 1u);
    EXPECT_EQ(server_.count("/get_robot_owner/"), 1u);
    EXPECT_EQ(server_.count("/api/v1/accounts/"), 1u);

    // No camera and no mic: their lookups go, and so do their answers.
    config_.camera.no_camera = true;
    config_.camera.no_mic = true;
    discovery_->reconfigure();
    EXPECT_FALSE(discovery_->endpoints().relay_host);
    EXPECT_FALSE(discovery_->endpoints().video_port);
    EXPECT_TRUE(discovery_->endpoints().control);

    // An unchanged config asks nothing.
    const size_t before = server_.http_requests();
    discovery_->reconfigure();
    run_for(300);
    EXPECT_EQ(server_.http_requests(), before);
}

}  // namespace
}  // namespace robotd
