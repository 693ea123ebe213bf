using Reliability.Patterns.Queueing;
using System.Globalization;
using System.Text;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

internal sealed partial class BrokerCore
{
    private static readonly ReadOnlyMemory<byte> FoundFrame = Mmi.StatusFrame(Mmi.Found);

    /// <summary>Answers an <c>mmi.*</c> request itself (RFC 8), in the client's protocol version.</summary>
    private void AnswerMmi(ReadOnlyMemory<byte> sender, MdpVersion version, ClientRequest request)
    {
        // Answers must reflect live workers: drop the ones whose deadline has passed first (docs/wire/mmi.md §4).
        ExpireWorkers();
        string status = request.Service switch
        {
            Mmi.ServiceLookup => Mmi.Evaluate(request, HasWorkers),
            MajordomoBroker.WorkersService or MajordomoBroker.ServicesService => Mmi.Found,
            _ => Mmi.NotImplemented,
        };
        IReadOnlyList<ReadOnlyMemory<byte>> body = request.Service switch
        {
            MajordomoBroker.WorkersService => CountWorkers(request),
            MajordomoBroker.ServicesService => ListServices(),
            _ => [Mmi.StatusFrame(status)],
        };

        MdpClientCommand reply = version == MdpVersion.V01
            ? new ClientReply(request.Service, body)
            : new ClientFinal(request.Service, body);
        // Behind the client's held replies, if any, like every other reply.
        var result = _backlog.Send(new RoutingKey(sender.Span), MdpCodec.BuildToClient(sender, reply, version));
        if (result == PeerSendResult.Unreachable)
        {
            _metrics.ReplyDropped("client_gone");
        }
        else
        {
            _metrics.ReplySent();
        }

        BrokerLog.MmiAnswered(_logger, request.Service, new RoutingKey(sender), status);
    }

    private bool HasWorkers(string service) => _services.TryGetValue(service, out var entry) && entry.WorkerCount > 0;

    /// <summary><c>mmi.workers</c>: "200" and the number of live workers of the service named in the body (of all services without a body).</summary>
    private ReadOnlyMemory<byte>[] CountWorkers(ClientRequest request)
    {
        int count;
        if (request.Body.Count == 0 || request.Body[0].IsEmpty)
        {
            count = _pool.Count;
        }
        else if (request.Body[0].Length > _options.MaxServiceNameLength)
        {
            count = 0;
        }
        else
        {
            string name = Encoding.UTF8.GetString(request.Body[0].Span);
            count = _services.TryGetValue(name, out var service) ? service.WorkerCount : 0;
        }

        return [FoundFrame, Encoding.ASCII.GetBytes(count.ToString(CultureInfo.InvariantCulture))];
    }

    /// <summary><c>mmi.services</c>: "200" and one frame per service with at least one live worker, in ordinal order.</summary>
    private ReadOnlyMemory<byte>[] ListServices()
    {
        var names = _services.Values.Where(s => s.WorkerCount > 0).Select(s => s.Name).Order(StringComparer.Ordinal);
        return [FoundFrame, .. names.Select(n => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(n))];
    }
}
