using System.Diagnostics.CodeAnalysis;

namespace Offload.Doca;

/// <summary>Maps every doca_error_t to its typed exception, in one place.</summary>
internal static class ThrowHelper
{
    public static void ThrowIfFailed(int status, string operation)
    {
        if (status != 0)
            Throw((DocaError)status, operation);
    }

    [DoesNotReturn]
    public static void Throw(DocaError error, string operation) => throw Create(error, operation);

    public static DocaException Create(DocaError error, string operation)
    {
        if (error.IsTransient())
            return new DocaTransientException(error, operation);
        if (error.IsCapacity())
            return new DocaCapacityException(error, operation);
        if (error.IsDeviceFatal())
            return new DocaDeviceFatalException(error, operation);
        if (error is DocaError.BadState or DocaError.NotFound)
            return new DocaStateException(error, operation);
        return new DocaException(error, operation);
    }
}
