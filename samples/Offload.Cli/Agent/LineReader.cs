namespace Offload.Cli.Agent;

/// <summary>Reads newline-terminated lines of bounded length from a stream.</summary>
internal sealed class LineReader(Stream stream, int maxLine)
{
    private readonly byte[] _buffer = new byte[Math.Min(maxLine + 1, 64 * 1024)];
    private byte[] _data = [];
    private int _start;
    private int _end;

    /// <summary>The next line without its newline; null at the end of the stream. Throws <see cref="InvalidDataException"/>
    /// when a line exceeds the limit.</summary>
    public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = Array.IndexOf(_data, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = _data.AsSpan(_start, newline - _start).ToArray();
                _start = newline + 1;
                return line;
            }
            if (_end - _start > maxLine)
                throw new InvalidDataException($"request longer than {maxLine} bytes");
            int n = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
                return null;
            Append(_buffer.AsSpan(0, n));
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        int pending = _end - _start;
        if (_data.Length - pending < bytes.Length || _start > 0)
        {
            var grown = new byte[Math.Max(_data.Length, pending + bytes.Length)];
            _data.AsSpan(_start, pending).CopyTo(grown);
            _data = grown;
            _start = 0;
            _end = pending;
        }
        bytes.CopyTo(_data.AsSpan(_end));
        _end += bytes.Length;
    }
}
