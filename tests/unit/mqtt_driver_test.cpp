// The mqtt_pub driver on a real loop against a real broker (Debian's mosquitto, started here on
// a free loopback port, with mosquitto_sub listening as the robot would): what is counted and
// held without a broker, the stop a broker that stopped reading gets when the driver goes,
// and the [mqtt_pub] config keys.
#include "hw/mqtt_driver.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "fake_http_server.h"
#include "hw/driver.h"
#include "loop_harness.h"
#include "stderr_capture.h"
#include "temp_dir.h"

extern char** environ;

using namespace robotd;

namespace {

std::string find_tool(const std::string& name) {
    for (const char* dir : {"/usr/sbin/", "/usr/bin/"})
        if (access((dir + name).c_str(), X_OK) == 0) return dir + name;
    return {};
}

int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

// A child process with its stdout and stderr on one non-blocking pipe, read line by line;
// killed (SIGKILL) and reaped when destroyed.
class Proc {
  public:
    explicit Proc(const std::vector<std::string>& argv) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none;
        sigemptyset(&none);  // the test blocks the daemon's signals; the child must not
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        if (posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(fds[1]);
        fd_ = fds[0];
        fcntl(fd_, F_SETFL, O_NONBLOCK);
    }
    ~Proc() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) close(fd_);
    }
    Proc(const Proc&) = delete;
    Proc& operator=(const Proc&) = delete;

    pid_t pid() const { return pid_; }
    const std::vector<std::string>& lines() {
        char buf[4096];
        for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) partial_.append(buf, size_t(n));
        for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
            lines_.push_back(partial_.substr(0, nl));
            partial_.erase(0, nl + 1);
        }
        return lines_;
    }
    bool has(const std::string& text) {
        for (const auto& l : lines())
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
    // Blocks (the loop is not needed meanwhile) until a line holds `text`.
    bool wait_for(const std::string& text, int timeout_ms = 10000) {
        const int64_t end = mono_us() + int64_t(timeout_ms) * 1000;
        while (!has(text)) {
            const int64_t left = (end - mono_us()) / 1000;
            if (left <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            poll(&p, 1, int(left));
        }
        return true;
    }

  private:
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string partial_;
    std::vector<std::string> lines_;
};

constexpr const char* kTopic = "robotd/test";

class MqttDriverTest : public LoopTest {
  protected:
    // A SYSTEM_LIBS=1 build against an lws that cannot run mqtt_pub refuses the type (the
    // MqttConfig tests check it says why): nothing here can connect.
    void SetUp() override {
        if (const std::string why = mqtt_build_error(); !why.empty()) GTEST_SKIP() << why;
        LoopTest::SetUp();
    }
    void start_broker() {
        const std::string mosquitto = find_tool("mosquitto");
        ASSERT_FALSE(mosquitto.empty()) << "mosquitto is missing: toolchain/install-deps.sh";
        port_ = free_port();
        const std::string conf = dir_.file("mosquitto.conf");
        std::ofstream(conf) << "listener " << port_
                            << " 127.0.0.1\nallow_anonymous true\n"
                            // Not its debug lines (one per message): nobody reads
                            // them while the driver is destroyed, and a full pipe
                            // would stop the broker.
                            << "log_dest stderr\nlog_type error\nlog_type warning\n"
                            << "log_type notice\nlog_type information\n"
                            << (getuid() == 0 ? "user root\n" : "");
        broker_ = std::make_unique<Proc>(std::vector<std::string>{mosquitto, "-c", conf});
        ASSERT_TRUE(broker_->wait_for(" running")) << "mosquitto did not start";
    }
    void start_subscriber(const std::string& topic = kTopic) {
        const std::string sub = find_tool("mosquitto_sub");
        ASSERT_FALSE(sub.empty()) << "mosquitto_sub is missing: toolchain/install-deps.sh";
        sub_ = std::make_unique<Proc>(std::vector<std::string>{
            find_tool("stdbuf"), "-oL", sub, "-d", "-h", "127.0.0.1", "-p", std::to_string(port_),
            "-t", topic, "-q", "1", "-F", "MSG %p"});
        ASSERT_TRUE(sub_->wait_for("received SUBACK")) << "mosquitto_sub did not subscribe";
    }
    std::string broker_log() {
        std::string text;
        for (const auto& l : broker_->lines()) text += l + "\n";
        return text;
    }
    // The payloads the subscriber got, in order.
    std::vector<std::string> messages() {
        std::vector<std::string> out;
        for (const auto& l : sub_->lines())
            if (l.rfind("MSG ", 0) == 0) out.push_back(l.substr(4));
        return out;
    }
    Config::MqttPub config(const std::string& topic = kTopic) {
        Config::MqttPub c;
        c.host = "127.0.0.1";
        c.port = port_;
        c.topic = topic;
        return c;
    }
    MqttTimings fast() {
        MqttTimings t;
        t.reconnect = {50, 200, 1000};
        return t;
    }
    static DriveCommand cmd(const std::string& text) {
        DriveCommand c;
        c.command = text;
        return c;
    }

    TempDir dir_{"robotd-mqtt"};
    int port_ = 0;
    std::unique_ptr<Proc> broker_;
    std::unique_ptr<Proc> sub_;
};

TEST_F(MqttDriverTest, WithoutABrokerCommandsAreDroppedAndCountedAndAStopIsHeld) {
    port_ = free_port();  // nothing listens there
    StderrCapture log;
    {
        MqttDriver driver(config(), "robotd-test", loop_, log_, fast());
        std::string error;
        ASSERT_TRUE(driver.start(&error)) << error;
        driver.command(cmd("F"));
        driver.command(cmd("L"));
        EXPECT_EQ(driver.stats().dropped, 2u);
        EXPECT_FALSE(driver.stats().stop_held);
        driver.stop(cmd("stop"));
        driver.stop(cmd("stop"));
        EXPECT_TRUE(driver.stats().stop_held);
        EXPECT_EQ(driver.stats().merged, 1u);
        driver.command(cmd("B"));
        EXPECT_EQ(driver.stats().dropped, 3u);
        EXPECT_EQ(driver.stats().written, 0u);
        run_for(300);  // a few reconnect attempts
    }
    log.restore();
    const std::string text = log.text();
    EXPECT_NE(text.find("W mqtt: cannot reach broker 127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("W mqtt: command dropped (broker not connected)"), std::string::npos);
    EXPECT_NE(text.find("W mqtt: stop held (broker not connected)"), std::string::npos);
    EXPECT_NE(text.find("E mqtt: a stop could not be published (broker not connected)"),
              std::string::npos);
    // One line for the outage, however many attempts it took.
    size_t count = 0;
    for (size_t at = 0; (at = text.find("cannot reach broker", at)) != std::string::npos; ++at)
        ++count;
    EXPECT_EQ(count, 1u) << text;
}

// A broker that accepts and then says nothing (no TLS ServerHello, no CONNACK): lws' own
// timeout is only a far backstop (310 s), so the driver's attempt bound gives up and retries.
TEST_F(MqttDriverTest, ABrokerThatAcceptsAndNeverAnswersIsGivenUpByTheAttemptBound) {
    for (bool tls : {false, true}) {
        FakeHttpServer silent(
            [](const FakeHttpServer::Request&) { return FakeHttpServer::hold(); });
        ASSERT_NE(silent.port(), 0);
        port_ = silent.port();
        Config::MqttPub c = config();
        c.tls = tls;
        MqttTimings t = fast();
        t.attempt_ms = 1000;
        StderrCapture log;
        bool retried = false;
        {
            MqttDriver driver(c, "robotd-test", loop_, log_, t);
            std::string error;
            ASSERT_TRUE(driver.start(&error)) << error;
            retried = run_until([&] { return silent.accepted() >= 2; }, 10000);
            EXPECT_FALSE(driver.connected());
        }
        log.restore();
        const std::string text = log.text();
        ASSERT_TRUE(retried) << (tls ? "tls\n" : "plain\n") << text;
        EXPECT_NE(text.find("no answer within "), std::string::npos)
            << (tls ? "tls\n" : "plain\n") << text;
    }
}

TEST_F(MqttDriverTest, StartNeedsAHostAndATopic) {
    Config::MqttPub c;
    std::string error;
    MqttDriver no_host(c, "robotd-test", loop_, log_);
    EXPECT_FALSE(no_host.start(&error));
    EXPECT_NE(error.find("[mqtt_pub] host is required"), std::string::npos) << error;
    c.host = "localhost";
    MqttDriver no_topic(c, "robotd-test", loop_, log_);
    EXPECT_FALSE(no_topic.start(&error));
    EXPECT_NE(error.find("[mqtt_pub] topic is required"), std::string::npos) << error;
}

TEST_F(MqttDriverTest, ANewConnectionStartsWithAStopAndCommandsGoOutAsReceived) {
    start_broker();
    start_subscriber();
    MqttDriver driver(config(), "robotd-test", loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    // The greeting stop is acknowledged (QoS 1) before any command may pass it.
    ASSERT_TRUE(run_until([&] { return driver.connected() && !driver.stats().stop_held; }))
        << broker_log();
    driver.command(cmd("F"));
    driver.command(cmd("LED_On"));
    ASSERT_TRUE(run_until([&] { return messages().size() >= 3; }));
    EXPECT_EQ(messages(), (std::vector<std::string>{"stop", "F", "LED_On"}));
    EXPECT_EQ(driver.stats().written, 2u);  // robotd's own greeting is not counted
    EXPECT_EQ(driver.stats().dropped, 0u);
}

TEST_F(MqttDriverTest, ABrokerThatStoppedReadingGetsTheHeldStopWhenTheDriverGoes) {
    start_broker();
    // Big publishes fill the socket sooner.
    const std::string topic = std::string(kTopic) + "/" + std::string(1000, 't');
    start_subscriber(topic);
    MqttTimings t = fast();
    t.flush_ms = 10000;
    auto driver = std::make_unique<MqttDriver>(config(topic), "robotd-test", loop_, log_, t);
    std::string error;
    ASSERT_TRUE(driver->start(&error)) << error;
    ASSERT_TRUE(run_until([&] { return driver->connected() && !driver->stats().stop_held; }));

    ASSERT_EQ(kill(broker_->pid(), SIGSTOP), 0);
    const std::string big(1000, 'F');
    for (int i = 0; i < 200000 && driver->stats().dropped == 0; ++i) driver->command(cmd(big));
    ASSERT_GT(driver->stats().dropped, 0u) << "the socket never filled";
    const uint64_t written = driver->stats().written;
    driver->stop(cmd("stop"));
    ASSERT_TRUE(driver->stats().stop_held);  // nothing passes it, and it waits for room

    // The broker reads again while the driver is being destroyed (robotd exiting): the
    // destructor waits for room, publishes the stop and sees the broker close after it.
    std::thread resume([pid = broker_->pid()] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        kill(pid, SIGCONT);
    });
    const int64_t t0 = mono_us();
    driver.reset();
    resume.join();
    EXPECT_LT(mono_us() - t0, int64_t(t.flush_ms) * 1000);
    // The greeting, what the broker passed on of the commands, then the stop, last.
    ASSERT_TRUE(
        run_until([&] { return messages().size() >= 2 && messages().back() == "stop"; }, 20000))
        << messages().size() << " messages of " << written + 2 << " published";
    EXPECT_EQ(messages().front(), "stop");
    EXPECT_GT(messages().size(), 2u);
}

TEST_F(MqttDriverTest, TheLongestUserAndPasswordTheClientTakesConnect) {
    // lws builds the CONNECT in a 256-byte stack buffer: this is the most it holds.
    start_broker();
    Config::MqttPub c = config();
    c.user = "bot";
    c.password = std::string(237 - 11 - 3, 'p');  // client id robotd-test: 11
    ASSERT_EQ(mqtt_connect_error(c, "robotd-test"), "");
    MqttDriver driver(c, "robotd-test", loop_, log_, fast());
    std::string error;
    ASSERT_TRUE(driver.start(&error)) << error;
    EXPECT_TRUE(run_until([&] { return driver.connected(); })) << broker_log();
}

TEST_F(MqttDriverTest, AUserAndPasswordTooLongForTheConnectAreAConfigError) {
    // One byte more overflowed lws' buffer (robotd aborted: stack smashing) and its
    // one-byte length; the config took up to 1024 characters each.
    port_ = free_port();  // nothing listens: no CONNECT is ever sent here
    Config config;
    config.robot.type = "mqtt_pub";
    config.robot.robot_id = "test";  // client id robotd-test
    config.mqtt_pub = this->config();
    config.mqtt_pub.user = "bot";
    config.mqtt_pub.password = std::string(237 - 11 - 3 + 1, 'p');
    const std::string why = check_driver_config(config);
    EXPECT_NE(why.find("[mqtt_pub] user and password are too long"), std::string::npos) << why;
    MqttDriver driver(config.mqtt_pub, mqtt_client_id(config), loop_, log_, fast());
    std::string error;
    EXPECT_FALSE(driver.start(&error));
    EXPECT_EQ(error, why);
}

// ---- config ----------------------------------------------------------------------------

ConfigResult parse(const std::string& mqtt_section) {
    return parse_config("[robot]\nrobot_id = 1234\n[mqtt_pub]\n" + mqtt_section, "test.conf");
}

std::string errors(const ConfigResult& r) {
    std::string out;
    for (const auto& d : r.diags)
        if (d.level == ConfigDiag::Level::Error) out += d.where + ": " + d.message + "\n";
    return out;
}

TEST(MqttConfig, ReferenceKeysAndDefaults) {
    const ConfigResult r = parse("host = YourBrokerID  \nport = 1883\ntopic = LR/command\n");
    ASSERT_TRUE(r.ok()) << errors(r);
    EXPECT_EQ(r.config.mqtt_pub.host, "YourBrokerID");
    EXPECT_EQ(r.config.mqtt_pub.effective_port(), 1883);
    EXPECT_EQ(r.config.mqtt_pub.topic, "LR/command");
    EXPECT_FALSE(r.config.mqtt_pub.tls);
    EXPECT_EQ(r.config.mqtt_pub.keepalive, 60);
    for (const auto& d : r.diags) EXPECT_EQ(d.message.find("mqtt_pub"), std::string::npos);

    const ConfigResult tls = parse("host = b\ntopic = t\ntls = on\n");
    ASSERT_TRUE(tls.ok()) << errors(tls);
    EXPECT_EQ(tls.config.mqtt_pub.effective_port(), 8883);  // MQTT over TLS
}

TEST(MqttConfig, ThePasswordIsASecret) {
    const ConfigResult r = parse("host = b\ntopic = t\nuser = bot\npassword = pw-71c2\n");
    ASSERT_TRUE(r.ok()) << errors(r);
    const std::string text = format_config(r.config);
    EXPECT_NE(text.find("\n[mqtt_pub]\nhost=b\nport=1883\ntopic=t\nuser=bot\npassword=****\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("pw-71c2"), std::string::npos);
    const auto secrets = config_secrets(r.config);
    EXPECT_NE(std::find(secrets.begin(), secrets.end(), "pw-71c2"), secrets.end());
}

TEST(MqttConfig, BadValuesAreErrorsAtTheirLine) {
    const ConfigResult r = parse("host = my broker\nport = 70000\ntopic = LR/+/cmd\nclient_id = " +
                                 std::string(24, 'c') + "\nkeepalive = 4\ntls = maybe\n");
    EXPECT_FALSE(r.ok());
    const std::string e = errors(r);
    EXPECT_NE(e.find("test.conf:4: [mqtt_pub] host: expected"), std::string::npos) << e;
    EXPECT_NE(e.find("test.conf:5: [mqtt_pub] port: expected a port number 1..65535"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("test.conf:6: [mqtt_pub] topic: expected"), std::string::npos) << e;
    EXPECT_NE(e.find("test.conf:7: [mqtt_pub] client_id: expected 1..23"), std::string::npos) << e;
    EXPECT_NE(e.find("test.conf:8: [mqtt_pub] keepalive: expected"), std::string::npos) << e;
    EXPECT_NE(e.find("test.conf:9: [mqtt_pub] tls: expected"), std::string::npos) << e;
}

TEST(MqttConfig, TheDefaultClientIdNamesTheRobotWithin23Characters) {
    Config c;
    c.robot.robot_id = "1234";
    EXPECT_EQ(mqtt_client_id(c), "robotd-1234");
    c.robot.robot_id = "robot 12345678901234567890";  // too long, with a space
    const std::string id = mqtt_client_id(c);
    EXPECT_EQ(id.size(), 23u);
    EXPECT_EQ(id, "robotd-5678901234567890");
    c.robot.robot_id = "a b";
    EXPECT_EQ(mqtt_client_id(c), "robotd-a_b");
    c.mqtt_pub.client_id = "mine";
    EXPECT_EQ(mqtt_client_id(c), "mine");
}

TEST(MqttConfig, TheFactoryKnowsTheType) {
    std::string error;
    EXPECT_EQ(driver_names("mqtt_pub", &error), std::vector<std::string>{"mqtt_pub"}) << error;
    EXPECT_NE(driver_types_text().find("mqtt_pub"), std::string::npos);
    Config c;
    c.robot.type = "mqtt_pub";
    EXPECT_NE(check_driver_config(c).find("[mqtt_pub] host is required"), std::string::npos);
    c.mqtt_pub.host = "broker";
    EXPECT_NE(check_driver_config(c).find("[mqtt_pub] topic is required"), std::string::npos);
    c.mqtt_pub.topic = "LR/command";
    EXPECT_EQ(check_driver_config(c), mqtt_build_error());
}

TEST(MqttConfig, AnLwsThatCannotRunTheDriverIsAClearConfigError) {
    // The third_party/ lws (patched 4.1.6, MQTT role on) runs it; a system lws without the
    // MQTT role, or an unpatched 4.1, makes the type a config error that names the library.
#if !defined(LWS_ROLE_MQTT)
    EXPECT_NE(mqtt_build_error().find("LWS_ROLE_MQTT"), std::string::npos) << mqtt_build_error();
#elif LWS_LIBRARY_VERSION_NUMBER < 4003000 && !defined(ROBOTD_LWS_PATCHED)
    EXPECT_NE(mqtt_build_error().find("lws " LWS_LIBRARY_VERSION), std::string::npos)
        << mqtt_build_error();
#else
    EXPECT_EQ(mqtt_build_error(), "");
#endif
    Config c;
    c.robot.type = "mqtt_pub";
    c.mqtt_pub.host = "broker";
    c.mqtt_pub.topic = "LR/command";
    EXPECT_EQ(check_driver_config(c), mqtt_build_error());
}

}  // namespace
