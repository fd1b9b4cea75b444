// Empty structs for DOCA's opaque types, so signatures say DocaFlowPort*, not nint (libgit2sharp style).
#pragma warning disable CA1812 // never instantiated: only pointed to
namespace Offload.Doca.Native;

internal struct DocaFlowCfg;
internal struct DocaFlowPortCfg;
internal struct DocaFlowPort;
internal struct DocaFlowPipe;
internal struct DocaFlowPipeEntry;
internal struct DocaFlowCtCfg;
