using System.Runtime.CompilerServices;
using Offload.Flows;

namespace Offload.Conntrack;

// The tuple index: an open-addressed hash table (linear probing, backward-shift deletion) whose cells hold only
// (slot << 1 | direction) and the key's 32-bit hash; the keys themselves are read from the entries, so each
// tracked tuple costs 8 bytes at ≤ 50 % load instead of a dictionary entry holding a second copy of the 48-byte
// key. Hashes use a per-table random seed so chosen 5-tuples cannot be aimed at one probe chain.
public sealed partial class ConntrackTable
{
    private const int EmptyCell = -1;

    private readonly ulong _hashSeed = FlowHash.ProcessSeed ^ (ulong)Random.Shared.NextInt64();
    private int[] _cells = [];
    private uint[] _cellHashes = [];
    private int _cellMask;
    private int _indexed;

    private void InitIndex(int initialConnections)
    {
        int size = (int)Math.Max(16, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)initialConnections * 4));
        _cells = new int[size];
        Array.Fill(_cells, EmptyCell);
        _cellHashes = new uint[size];
        _cellMask = size - 1;
        _indexed = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint HashOf(in FlowKey normalized) => (uint)FlowHash.Hash(normalized, _hashSeed);

    /// <summary>Finds a normalised key; returns the cell value (slot &lt;&lt; 1 | direction) or -1.</summary>
    private int IndexFind(in FlowKey normalized)
    {
        uint hash = HashOf(normalized);
        int i = (int)(hash & (uint)_cellMask);
        while (true)
        {
            int value = _cells[i];
            if (value == EmptyCell)
                return EmptyCell;
            if (_cellHashes[i] == hash && KeyOfCell(value).Equals(normalized))
                return value;
            i = (i + 1) & _cellMask;
        }
    }

    private void IndexAdd(in FlowKey normalized, int value)
    {
        if ((_indexed + 1) * 2 > _cells.Length)
            GrowIndex();
        Place(HashOf(normalized), value);
        _indexed++;
    }

    private void IndexRemove(in FlowKey normalized)
    {
        uint hash = HashOf(normalized);
        int hole = (int)(hash & (uint)_cellMask);
        while (true)
        {
            int value = _cells[hole];
            if (value == EmptyCell)
                return;
            if (_cellHashes[hole] == hash && KeyOfCell(value).Equals(normalized))
                break;
            hole = (hole + 1) & _cellMask;
        }
        // Backward shift: pull later members of the probe run into the hole unless their home lies cyclically
        // in (hole, j], so no lookup ever meets an empty cell before its key.
        int j = hole;
        while (true)
        {
            j = (j + 1) & _cellMask;
            int value = _cells[j];
            if (value == EmptyCell)
                break;
            int home = (int)(_cellHashes[j] & (uint)_cellMask);
            bool homeInRange = hole < j ? home > hole && home <= j : home > hole || home <= j;
            if (homeInRange)
                continue;
            _cells[hole] = value;
            _cellHashes[hole] = _cellHashes[j];
            hole = j;
        }
        _cells[hole] = EmptyCell;
        _indexed--;
    }

    private void Place(uint hash, int value)
    {
        int i = (int)(hash & (uint)_cellMask);
        while (_cells[i] != EmptyCell)
            i = (i + 1) & _cellMask;
        _cells[i] = value;
        _cellHashes[i] = hash;
    }

    private void GrowIndex()
    {
        var oldCells = _cells;
        var oldHashes = _cellHashes;
        _cells = new int[oldCells.Length * 2];
        Array.Fill(_cells, EmptyCell);
        _cellHashes = new uint[oldCells.Length * 2];
        _cellMask = _cells.Length - 1;
        for (int i = 0; i < oldCells.Length; i++)
        {
            if (oldCells[i] != EmptyCell)
                Place(oldHashes[i], oldCells[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FlowKey KeyOfCell(int value)
    {
        ref var e = ref _entries[value >> 1];
        return Normalize((value & 1) == 0 ? e.Original : e.Reply);
    }
}
