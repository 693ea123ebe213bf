using System.Buffers.Binary;

namespace Reliability.Fuzz;

/// <summary>
/// Makes fuzz inputs from a seed corpus by stacking one to four byte-level mutations (bit flips,
/// boundary values, length fields set to edge sizes, inserted, deleted, duplicated and spliced
/// ranges), with now and then an input of pure random bytes. Deterministic for a given seed, so a
/// finding can be reproduced from the seed and the input number alone.
/// </summary>
internal sealed class Mutator
{
    /// <summary>Inputs never grow past this many octets: the decoders' own limits are larger, so nothing is hidden.</summary>
    public const int MaxInputLength = 64 * 1024;

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7F, 0x80, 0xFE, 0xFF, 0x20, 0x40, 0x7E];

    // Sizes that sit on the edges of the length fields we parse (one octet, two, 31/32/63/64-bit).
    private static readonly ulong[] InterestingSizes =
        [0, 1, 254, 255, 256, 65535, 65536, 0x7FFF_FFC7, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, ulong.MaxValue];

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _corpus;

    public Mutator(IReadOnlyList<byte[]> corpus, int seed)
    {
        _corpus = corpus.Count > 0 ? corpus : [[]];
        _random = new Random(seed);
    }

    /// <summary>The next input.</summary>
    public byte[] Next()
    {
        if (_random.Next(64) == 0)
        {
            var noise = new byte[_random.Next(1, 512)];
            _random.NextBytes(noise);
            return noise;
        }

        var data = new List<byte>(_corpus[_random.Next(_corpus.Count)]);
        int mutations = 1 + _random.Next(4);
        for (int i = 0; i < mutations; i++)
        {
            Mutate(data);
        }

        if (data.Count > MaxInputLength)
        {
            data.RemoveRange(MaxInputLength, data.Count - MaxInputLength);
        }

        return data.ToArray();
    }

    private void Mutate(List<byte> data)
    {
        switch (_random.Next(10))
        {
            case 0 when data.Count > 0:
                data[_random.Next(data.Count)] ^= (byte)(1 << _random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[_random.Next(data.Count)] = InterestingBytes[_random.Next(InterestingBytes.Length)];
                break;
            case 2 when data.Count > 0:
                WriteSize(data);
                break;
            case 3:
                var inserted = new byte[_random.Next(1, 17)];
                _random.NextBytes(inserted);
                data.InsertRange(_random.Next(data.Count + 1), inserted);
                break;
            case 4 when data.Count > 1:
                int start = _random.Next(data.Count);
                data.RemoveRange(start, _random.Next(1, Math.Min(32, data.Count - start) + 1));
                break;
            case 5 when data.Count > 1:
                int from = _random.Next(data.Count);
                var copy = data.GetRange(from, _random.Next(1, Math.Min(64, data.Count - from) + 1));
                data.InsertRange(_random.Next(data.Count + 1), copy);
                break;
            case 6:
                Splice(data);
                break;
            case 7 when data.Count > 0:
                int keep = _random.Next(data.Count);
                data.RemoveRange(keep, data.Count - keep);
                break;
            case 8 when data.Count > 0:
                data[_random.Next(data.Count)] = (byte)_random.Next(256);
                break;
            default:
                var appended = new byte[_random.Next(1, 33)];
                _random.NextBytes(appended);
                data.AddRange(appended);
                break;
        }
    }

    /// <summary>Overwrites 1, 2, 4 or 8 octets at a random place with an edge size, big-endian as ZMTP writes lengths.</summary>
    private void WriteSize(List<byte> data)
    {
        ulong size = InterestingSizes[_random.Next(InterestingSizes.Length)];
        if (_random.Next(2) == 0)
        {
            size += (ulong)_random.Next(-2, 3);
        }

        int width = 1 << _random.Next(4);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, size);
        int at = _random.Next(data.Count);
        for (int i = 0; i < width && at + i < data.Count; i++)
        {
            data[at + i] = bytes[8 - width + i];
        }
    }

    /// <summary>The head of this input joined to the tail of another corpus entry.</summary>
    private void Splice(List<byte> data)
    {
        var other = _corpus[_random.Next(_corpus.Count)];
        int keep = _random.Next(data.Count + 1);
        data.RemoveRange(keep, data.Count - keep);
        int from = other.Length == 0 ? 0 : _random.Next(other.Length);
        for (int i = from; i < other.Length; i++)
        {
            data.Add(other[i]);
        }
    }
}
