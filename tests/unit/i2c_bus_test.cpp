// The I2C bus: a bus named by number, node or adapter name (against a made-up sysfs tree),
// and the one-line errors of a node that is missing or is no I2C adapter.
#include "hw/i2c_bus.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace robotd {
namespace {

namespace fs = std::filesystem;

// A sysfs root with the given entries under bus/i2c/devices, each with its `name` file.
class FakeSysfs {
  public:
    FakeSysfs() { fs::create_directories(root() + "/bus/i2c/devices"); }
    ~FakeSysfs() {
        std::error_code ec;
        fs::remove_all(dir_.path() + "/bus", ec);
    }
    void add(const std::string& entry, const std::string& name) {
        const fs::path d = fs::path(root()) / "bus/i2c/devices" / entry;
        fs::create_directories(d);
        std::ofstream(d / "name") << name << "\n";
    }
    std::string root() const { return dir_.path(); }

  private:
    TempDir dir_{"robotd-sysfs"};
};

TEST(I2cBus, NumbersAndNodesNeedNoLookup) {
    std::string error;
    EXPECT_EQ(resolve_i2c_bus("1", "/nonexistent", &error), "/dev/i2c-1");
    EXPECT_EQ(resolve_i2c_bus("i2c-12", "/nonexistent", &error), "/dev/i2c-12");
    EXPECT_EQ(resolve_i2c_bus("/dev/i2c-3", "/nonexistent", &error), "/dev/i2c-3");
    EXPECT_EQ(error, "");
    EXPECT_EQ(describe_i2c_bus("1"), "i2c-1");
    EXPECT_EQ(describe_i2c_bus("i2c-4"), "i2c-4");
    EXPECT_EQ(describe_i2c_bus("/dev/i2c-3"), "/dev/i2c-3");
    EXPECT_EQ(describe_i2c_bus("SMBus stub driver"), "'SMBus stub driver'");
}

TEST(I2cBus, AnAdapterIsFoundByItsName) {
    FakeSysfs sys;
    sys.add("i2c-0", "bcm2835 (i2c@7e205000)");
    sys.add("i2c-11", "SMBus stub driver");
    sys.add("0-0060", "SMBus stub driver");  // a chip on a bus, not an adapter
    std::string error;
    EXPECT_EQ(resolve_i2c_bus("SMBus stub driver", sys.root(), &error), "/dev/i2c-11") << error;
    EXPECT_EQ(resolve_i2c_bus("smbus STUB driver", sys.root(), &error), "/dev/i2c-11");
    EXPECT_EQ(resolve_i2c_bus("bcm2835 (i2c@7e205000)", sys.root(), &error), "/dev/i2c-0");
}

TEST(I2cBus, AnUnknownOrAmbiguousNameSaysWhatThereIs) {
    FakeSysfs sys;
    sys.add("i2c-0", "bcm2835 (i2c@7e205000)");
    sys.add("i2c-2", "SMBus stub driver");
    std::string error;
    EXPECT_EQ(resolve_i2c_bus("Motor HAT", sys.root(), &error), "");
    EXPECT_EQ(error,
              "no I2C adapter named 'Motor HAT' (adapters: i2c-0 'bcm2835 (i2c@7e205000)', "
              "i2c-2 'SMBus stub driver')");
    sys.add("i2c-5", "SMBus stub driver");
    EXPECT_EQ(resolve_i2c_bus("SMBus stub driver", sys.root(), &error), "");
    EXPECT_EQ(error,
              "more than one I2C adapter is named 'SMBus stub driver' (i2c-2, i2c-5): name the "
              "bus by its number");
    EXPECT_EQ(resolve_i2c_bus("x", "/nonexistent", &error), "");
    EXPECT_NE(error.find("cannot list /nonexistent/bus/i2c/devices"), std::string::npos) << error;
}

TEST(I2cBus, AMissingNodeOrOneThatIsNoAdapterIsOneClearLine) {
    std::string error;
    EXPECT_EQ(open_i2c_device("/nonexistent/i2c-9", 0x60, &error), nullptr);
    EXPECT_EQ(error,
              "/nonexistent/i2c-9: No such file or directory (is I2C enabled, and the i2c-dev "
              "module loaded?)");
    EXPECT_EQ(open_i2c_device("/dev/null", 0x60, &error), nullptr);
    EXPECT_EQ(error.rfind("/dev/null is not an I2C adapter (", 0), 0u) << error;
}

}  // namespace
}  // namespace robotd
