using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Offload.Datapath;

namespace Offload.Hosting;

/// <summary>Configuration of the hosted switch on an <see cref="IOffloadBuilder"/>.</summary>
public static class OffloadBuilderExtensions
{
    /// <summary>Configures <see cref="OffloadOptions"/> further (applied after the <c>AddOffload</c> delegate).</summary>
    public static IOffloadBuilder Configure(this IOffloadBuilder builder, Action<OffloadOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Registers a hardware backend factory (Offload.Doca registers its own through this).</summary>
    public static IOffloadBuilder AddBackendFactory<TFactory>(this IOffloadBuilder builder)
        where TFactory : class, IOffloadBackendFactory
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOffloadBackendFactory, TFactory>());
        return builder;
    }

    /// <summary>Registers a hardware backend factory instance.</summary>
    public static IOffloadBuilder AddBackendFactory(this IOffloadBuilder builder, IOffloadBackendFactory factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Registers a slow-path factory (Offload.Kernel registers its own through this).</summary>
    public static IOffloadBuilder AddSlowPathFactory<TFactory>(this IOffloadBuilder builder)
        where TFactory : class, IOffloadSlowPathFactory
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOffloadSlowPathFactory, TFactory>());
        return builder;
    }

    /// <summary>Registers a slow-path factory instance.</summary>
    public static IOffloadBuilder AddSlowPathFactory(this IOffloadBuilder builder, IOffloadSlowPathFactory factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Sends every frame's result to <typeparamref name="TSink"/> (a singleton; called on the datapath's thread).</summary>
    public static IOffloadBuilder UseFrameSink<TSink>(this IOffloadBuilder builder)
        where TSink : class, IFrameSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IFrameSink, TSink>());
        return builder;
    }

    /// <summary>Sends every frame's result to <paramref name="sink"/> (called on the datapath's thread).</summary>
    public static IOffloadBuilder UseFrameSink(this IOffloadBuilder builder, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        builder.Services.Replace(ServiceDescriptor.Singleton(sink));
        return builder;
    }
}
