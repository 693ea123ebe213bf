using Reliability.Patterns.Queueing;

namespace Reliability.Mdp.Broker;

/// <summary>
/// The broker core's only way out: a non-blocking send of a message whose first frame is the peer's
/// routing id, and the pausing of a peer's reading (flow control). The socket loop implements it on a
/// ROUTER with ROUTER_MANDATORY; tests record messages.
/// </summary>
internal interface IBrokerSender : IPeerSender, IFlowSwitch
{
}
