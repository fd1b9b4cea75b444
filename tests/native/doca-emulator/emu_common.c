/* libdoca_common of the emulator: error names and the runtime version string. */
#include "doca_emu.h"

static const char *const names[] = {
	"DOCA_SUCCESS", "DOCA_ERROR_UNKNOWN", "DOCA_ERROR_NOT_PERMITTED", "DOCA_ERROR_IN_USE",
	"DOCA_ERROR_NOT_SUPPORTED", "DOCA_ERROR_AGAIN", "DOCA_ERROR_INVALID_VALUE", "DOCA_ERROR_NO_MEMORY",
	"DOCA_ERROR_INITIALIZATION", "DOCA_ERROR_TIME_OUT", "DOCA_ERROR_SHUTDOWN",
	"DOCA_ERROR_CONNECTION_RESET", "DOCA_ERROR_CONNECTION_ABORTED", "DOCA_ERROR_CONNECTION_INPROGRESS",
	"DOCA_ERROR_NOT_CONNECTED", "DOCA_ERROR_NO_LOCK", "DOCA_ERROR_NOT_FOUND", "DOCA_ERROR_IO_FAILED",
	"DOCA_ERROR_BAD_STATE", "DOCA_ERROR_UNSUPPORTED_VERSION", "DOCA_ERROR_OPERATING_SYSTEM",
	"DOCA_ERROR_DRIVER", "DOCA_ERROR_UNEXPECTED", "DOCA_ERROR_ALREADY_EXIST", "DOCA_ERROR_FULL",
	"DOCA_ERROR_EMPTY", "DOCA_ERROR_IN_PROGRESS", "DOCA_ERROR_TOO_BIG", "DOCA_ERROR_AUTHENTICATION",
	"DOCA_ERROR_BAD_CONFIG", "DOCA_ERROR_SKIPPED", "DOCA_ERROR_DEVICE_FATAL_ERROR",
};

/* Our own one-line descriptions (the emulator's wording). */
static const char *const descrs[] = {
	"success", "unknown error", "operation not permitted", "resource in use", "not supported",
	"resource temporarily unavailable, try again", "invalid value", "out of memory",
	"initialization failed", "timed out", "shut down", "connection reset", "connection aborted",
	"connection in progress", "not connected", "lock not acquired", "not found", "I/O failed",
	"bad state", "unsupported version", "operating system error", "driver error", "unexpected",
	"already exists", "full", "empty", "in progress", "too big", "authentication failed",
	"bad configuration", "skipped", "device fatal error",
};

const char *doca_error_get_name(doca_error_t error)
{
	unsigned i = (unsigned)error;
	return i < sizeof names / sizeof names[0] ? names[i] : "DOCA_ERROR_UNKNOWN";
}

const char *doca_error_get_descr(doca_error_t error)
{
	unsigned i = (unsigned)error;
	return i < sizeof descrs / sizeof descrs[0] ? descrs[i] : "unknown error";
}

const char *doca_version_runtime(void)
{
#ifdef DOCA_EMU_GEN_B
	return "3.3.0100";
#else
	return "3.0.0058";
#endif
}
