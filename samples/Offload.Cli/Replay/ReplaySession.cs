using System.Runtime.InteropServices;
using Offload.Capture;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Replay;

/// <summary>
/// A virtual switch for a policy, fed frame by frame with the clock at each frame's time. Each frame goes in alone
/// and is followed by a <see cref="VirtualSwitch.Poll"/>, so expiry and revalidation happen where they would have in
/// the capture. Results go to <see cref="Sink"/>.
/// </summary>
internal sealed class ReplaySession : IFrameSink, IDisposable
{
    public ReplaySession(PolicySnapshot policy, DateTimeOffset start, VirtualSwitchOptions? options = null)
    {
        Clock = new ReplayClock(start);
        Switch = new VirtualSwitch(policy, this, options, Clock);
    }

    public ReplayClock Clock { get; }

    public VirtualSwitch Switch { get; }

    /// <summary>Where results go (set it before feeding frames).</summary>
    public IFrameSink? Sink { get; set; }

    /// <summary>Length of the input frame being processed.</summary>
    public int CurrentLength { get; private set; }

    /// <summary>Time of the frame being processed.</summary>
    public DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Processes one frame that arrived at <paramref name="time"/>, from the port the SPEC's capture rule gives it.</summary>
    public void Feed(ReadOnlySpan<byte> frame, DateTimeOffset time, long cookie) =>
        Feed(frame, time, cookie, IngressPortOf(frame));

    /// <summary>The ingress port of a captured frame (<see cref="VirtualSwitch.IngressPortOf"/>).</summary>
    public ushort IngressPortOf(ReadOnlySpan<byte> frame) => Switch.IngressPortOf(frame);

    /// <summary>Processes one frame from <paramref name="inPort"/>.</summary>
    public void Feed(ReadOnlySpan<byte> frame, DateTimeOffset time, long cookie, ushort inPort)
    {
        Clock.AdvanceTo(time);
        CurrentLength = frame.Length;
        var input = new InputFrame(PacketBuffer.CopyOf(frame), inPort, cookie);
        Switch.Process(MemoryMarshal.CreateSpan(ref input, 1));
        Switch.Poll();
    }

    void IFrameSink.OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => Sink?.OnFrame(in result, frame);

    public void Dispose() => Switch.Dispose();

    /// <summary>
    /// Replays <paramref name="pcapPath"/> through a switch for <paramref name="policy"/> and returns the session (the
    /// caller disposes it). <paramref name="sinkFor"/> makes the sink once the session exists; each frame's cookie is its
    /// 0-based index in the capture. A capture that cannot be read raises <see cref="CliException"/>; one damaged part-way
    /// raises it after the frames before the damage were replayed.
    /// </summary>
    public static ReplaySession Run(PolicySnapshot policy, string pcapPath, Func<ReplaySession, IFrameSink?> sinkFor)
    {
        using var reader = OpenCapture(pcapPath);
        ReplaySession? session = null;
        try
        {
            long index = 0;
            while (true)
            {
                PcapRecordHeader header;
                ReadOnlySpan<byte> data;
                try
                {
                    if (!reader.TryReadNext(out header, out data))
                        break;
                }
                catch (InvalidDataException ex)
                {
                    throw new CliException($"capture {pcapPath} is damaged after {index} frames: {ex.Message}");
                }
                if (session is null)
                {
                    session = new ReplaySession(policy, header.Timestamp);
                    session.Sink = sinkFor(session);
                }
                session.Feed(data, header.Timestamp, index++);
            }
            if (session is null)
            {
                session = new ReplaySession(policy, DateTimeOffset.UnixEpoch);
                session.Sink = sinkFor(session);
            }
            return session;
        }
        catch
        {
            session?.Dispose();
            throw;
        }
    }

    private static PcapReader OpenCapture(string path)
    {
        if (!File.Exists(path))
            throw new CliException($"capture {path} does not exist.");
        PcapReader reader;
        try
        {
            reader = PcapReader.Open(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new CliException($"cannot read capture {path}: {ex.Message}");
        }
        if (reader.LinkType != PcapFormat.LinkTypeEthernet)
        {
            reader.Dispose();
            throw new CliException($"capture {path} has link type {reader.LinkType}; only Ethernet (1) is supported.");
        }
        return reader;
    }
}
