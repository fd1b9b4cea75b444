namespace Offload.Doca.Tests;

public sealed class ThrowHelperTests
{
    [Theory]
    [InlineData(DocaError.Again, typeof(DocaTransientException), true)]
    [InlineData(DocaError.InProgress, typeof(DocaTransientException), true)]
    [InlineData(DocaError.TimeOut, typeof(DocaTransientException), true)]
    [InlineData(DocaError.NoLock, typeof(DocaTransientException), true)]
    [InlineData(DocaError.Full, typeof(DocaCapacityException), false)]
    [InlineData(DocaError.NoMemory, typeof(DocaCapacityException), false)]
    [InlineData(DocaError.TooBig, typeof(DocaCapacityException), false)]
    [InlineData(DocaError.Driver, typeof(DocaDeviceFatalException), false)]
    [InlineData(DocaError.DeviceFatalError, typeof(DocaDeviceFatalException), false)]
    [InlineData(DocaError.Shutdown, typeof(DocaDeviceFatalException), false)]
    [InlineData(DocaError.BadState, typeof(DocaStateException), false)]
    [InlineData(DocaError.NotFound, typeof(DocaStateException), false)]
    [InlineData(DocaError.InvalidValue, typeof(DocaException), false)]
    [InlineData(DocaError.AlreadyExist, typeof(DocaException), false)]
    public void Create_Code_GivesTypedExceptionKeepingTheCode(DocaError error, Type type, bool transient)
    {
        DocaException e = ThrowHelper.Create(error, "doca_flow_x");

        e.Should().BeOfType(type);
        e.Error.Should().Be(error);
        e.IsTransient.Should().Be(transient);
        e.Operation.Should().Be("doca_flow_x");
        e.Message.Should().Contain("doca_flow_x").And.Contain(error.ToString());
    }

    [Fact]
    public void Create_EveryCode_IsInExactlyOneClassOrNone()
    {
        foreach (DocaError error in Enum.GetValues<DocaError>())
        {
            int classes = (error.IsTransient() ? 1 : 0) + (error.IsCapacity() ? 1 : 0) + (error.IsDeviceFatal() ? 1 : 0);
            classes.Should().BeLessThanOrEqualTo(1, "{0} has one handling", error);
        }
    }

    [Fact]
    public void ThrowIfFailed_Success_DoesNotThrowAndFailureThrows()
    {
        FluentActions.Invoking(() => ThrowHelper.ThrowIfFailed(0, "x")).Should().NotThrow();
        FluentActions.Invoking(() => ThrowHelper.ThrowIfFailed(5, "x")).Should().Throw<DocaTransientException>();
    }
}
