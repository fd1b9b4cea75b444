namespace Offload.Doca;

/// <summary>A DOCA call failed; <see cref="Error"/> keeps the native code.</summary>
public class DocaException : Exception
{
    /// <summary>Creates an exception for <paramref name="error"/> returned by <paramref name="operation"/>.</summary>
    public DocaException(DocaError error, string operation)
        : base($"{operation} failed: {error} ({(int)error})")
    {
        Error = error;
        Operation = operation;
    }

    /// <summary>The native status code.</summary>
    public DocaError Error { get; }

    /// <summary>The DOCA (or shim) function that returned it.</summary>
    public string Operation { get; }

    /// <summary>Retrying the same call later may succeed.</summary>
    public bool IsTransient => Error.IsTransient();
}

/// <summary>A transient failure (AGAIN, IN_PROGRESS, TIME_OUT, NO_LOCK): retry with backoff.</summary>
public sealed class DocaTransientException(DocaError error, string operation) : DocaException(error, operation);

/// <summary>A capacity failure (FULL, NO_MEMORY, TOO_BIG): the flow stays in software.</summary>
public sealed class DocaCapacityException(DocaError error, string operation) : DocaException(error, operation);

/// <summary>The device is dead (DRIVER, DEVICE_FATAL_ERROR, SHUTDOWN): everything on it falls back to software.</summary>
public sealed class DocaDeviceFatalException(DocaError error, string operation) : DocaException(error, operation);

/// <summary>A call out of order or on something already gone (BAD_STATE, NOT_FOUND): a bug in the caller.</summary>
public sealed class DocaStateException(DocaError error, string operation) : DocaException(error, operation);
