// The release version, for --version and the User-Agent.
#pragma once

#define ROBOTD_VERSION "0.1.0"
