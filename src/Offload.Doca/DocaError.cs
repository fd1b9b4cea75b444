namespace Offload.Doca;

/// <summary>DOCA's status codes (<c>doca_error_t</c>), with the values DOCA publishes.</summary>
public enum DocaError
{
    /// <summary>Success.</summary>
    Success = 0,
    /// <summary>Unknown error.</summary>
    Unknown = 1,
    /// <summary>Operation not permitted.</summary>
    NotPermitted = 2,
    /// <summary>Resource in use.</summary>
    InUse = 3,
    /// <summary>Not supported.</summary>
    NotSupported = 4,
    /// <summary>Resource temporarily unavailable (for example a full queue): try again.</summary>
    Again = 5,
    /// <summary>Invalid value.</summary>
    InvalidValue = 6,
    /// <summary>Out of memory.</summary>
    NoMemory = 7,
    /// <summary>Initialization failed.</summary>
    Initialization = 8,
    /// <summary>Timed out.</summary>
    TimeOut = 9,
    /// <summary>Shut down.</summary>
    Shutdown = 10,
    /// <summary>Connection reset.</summary>
    ConnectionReset = 11,
    /// <summary>Connection aborted.</summary>
    ConnectionAborted = 12,
    /// <summary>Connection in progress.</summary>
    ConnectionInProgress = 13,
    /// <summary>Not connected.</summary>
    NotConnected = 14,
    /// <summary>Lock not acquired.</summary>
    NoLock = 15,
    /// <summary>Not found.</summary>
    NotFound = 16,
    /// <summary>I/O failed.</summary>
    IoFailed = 17,
    /// <summary>Bad state (an operation out of the required order).</summary>
    BadState = 18,
    /// <summary>Unsupported version.</summary>
    UnsupportedVersion = 19,
    /// <summary>Operating system error.</summary>
    OperatingSystem = 20,
    /// <summary>Driver error (releases before DEVICE_FATAL_ERROR report a dead device this way).</summary>
    Driver = 21,
    /// <summary>Unexpected.</summary>
    Unexpected = 22,
    /// <summary>Already exists.</summary>
    AlreadyExist = 23,
    /// <summary>Full.</summary>
    Full = 24,
    /// <summary>Empty.</summary>
    Empty = 25,
    /// <summary>In progress.</summary>
    InProgress = 26,
    /// <summary>Too big.</summary>
    TooBig = 27,
    /// <summary>Authentication failed.</summary>
    Authentication = 28,
    /// <summary>Bad configuration.</summary>
    BadConfig = 29,
    /// <summary>Skipped.</summary>
    Skipped = 30,
    /// <summary>The device hit a fatal error (newer releases).</summary>
    DeviceFatalError = 31,
}

/// <summary>How a <see cref="DocaError"/> should be handled.</summary>
public static class DocaErrorExtensions
{
    /// <summary>Worth retrying as is: the condition passes by itself.</summary>
    public static bool IsTransient(this DocaError error) =>
        error is DocaError.Again or DocaError.InProgress or DocaError.TimeOut or DocaError.NoLock;

    /// <summary>A table, counter pool or memory is exhausted: spill to software instead of retrying.</summary>
    public static bool IsCapacity(this DocaError error) =>
        error is DocaError.Full or DocaError.NoMemory or DocaError.TooBig;

    /// <summary>The device is gone until it is restarted: fall back to software for everything on it.</summary>
    public static bool IsDeviceFatal(this DocaError error) =>
        error is DocaError.Driver or DocaError.DeviceFatalError or DocaError.Shutdown;
}
