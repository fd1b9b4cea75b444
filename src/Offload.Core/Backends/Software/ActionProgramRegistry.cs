using Offload.Actions;

namespace Offload.Backends.Software;

/// <summary>
/// Interns action programs so that flow entries hold a 4-byte id instead of a reference: many
/// connections share one program (same destination port, MACs, tunnel), and the entry array stays
/// free of GC references so it can live in unmanaged memory.
/// </summary>
/// <remarks>
/// Writers (intern/release) lock; packet-path readers index <see cref="Get"/> without a lock. A
/// released id is quarantined before reuse so that a reader that read an entry just before its flow
/// was removed still finds the program it read — never another program under an old id.
/// </remarks>
public sealed class ActionProgramRegistry
{
    private const int QuarantineLength = 1024;

    private readonly object _gate = new();
    private readonly Dictionary<ActionProgram, int> _ids = new();
    private readonly Queue<int> _quarantine = new();
    private readonly Stack<int> _free = new();
    private ActionProgram?[] _programs = new ActionProgram?[64];
    private int[] _references = new int[64];
    private int _next;

    /// <summary>Distinct programs in use.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _ids.Count;
        }
    }

    /// <summary>Returns the id of <paramref name="program"/>, adding a reference.</summary>
    public int Intern(ActionProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        lock (_gate)
        {
            if (_ids.TryGetValue(program, out int id))
            {
                _references[id]++;
                return id;
            }
            id = _free.Count > 0 ? _free.Pop() : _next++;
            if (id >= _programs.Length)
            {
                var programs = new ActionProgram?[_programs.Length * 2];
                Array.Copy(_programs, programs, _programs.Length);
                Array.Resize(ref _references, programs.Length);
                programs[id] = program;
                Volatile.Write(ref _programs, programs);
            }
            else
            {
                Volatile.Write(ref _programs[id], program);
            }
            _references[id] = 1;
            _ids.Add(program, id);
            return id;
        }
    }

    /// <summary>Drops a reference taken by <see cref="Intern"/>.</summary>
    public void Release(int id)
    {
        lock (_gate)
        {
            var program = _programs[id] ?? throw new InvalidOperationException($"Action program {id} is not registered.");
            if (--_references[id] > 0)
                return;
            _ids.Remove(program);
            _quarantine.Enqueue(id);
            if (_quarantine.Count > QuarantineLength)
            {
                int reusable = _quarantine.Dequeue();
                _programs[reusable] = null;
                _free.Push(reusable);
            }
        }
    }

    /// <summary>The program with <paramref name="id"/> (packet path: no lock).</summary>
    public ActionProgram? Get(int id)
    {
        var programs = Volatile.Read(ref _programs);
        return (uint)id < (uint)programs.Length ? programs[id] : null;
    }
}
