#!/usr/bin/env python3
"""Reads `perf script -F comm,pid,tid,ip,sym,dso` on stdin and says, per process, where the CPU samples went:
syscalls (by kind), thread-pool spinning, task/thread-pool machinery, .NET sockets, our transport, the MDP
codec and broker logic, JIT... Each sample is put in one bucket, judged from its stack (leaf first).

Arguments: PID=ROLE pairs to name processes, and q:REGEX to also report the share of samples whose stack
matches REGEX (e.g. q:Deadline). Used by profile-broker.sh; needs DOTNET_PerfMapEnabled=1 and
DOTNET_EnableWriteXorExecute=0 in the profiled processes for managed symbols."""
import sys, re, collections
roles = dict(a.split('=', 1) for a in sys.argv[1:] if '=' in a)
queries = [a[2:] for a in sys.argv[1:] if a.startswith('q:')]
head = re.compile(r'^\s*(\S.*?)\s+(\d+)/(\d+)\s')
per = collections.defaultdict(collections.Counter)
qhits = collections.defaultdict(collections.Counter)
n = collections.Counter()
def clean(sym):
    sym = re.sub(r'\[(OptimizedTier1|Optimized|Tier0|Tier1|QuickJitted|PreJIT|OSR|Instrumented|InstrumentedTier1)\]', '', sym)
    return sym.strip()
MACH = re.compile(r'System\.Threading\.(ThreadPool|Tasks|ExecutionContext|CancellationToken|CancellationTokenSource|CancellationTokenRegistration|TimerQueue|Timer|LowLevel|PortableThreadPool|WorkStealing|Volatile|Interlocked|SpinWait|Thread::)|System\.Runtime\.CompilerServices\.(AsyncTaskMethodBuilder|AsyncValueTaskMethodBuilder|AsyncMethodBuilderCore|PoolingAsync|TaskAwaiter|ConfiguredTaskAwaitable|ConfiguredValueTaskAwaitable|ValueTaskAwaiter)|System\.Threading\.Tasks\.|TaskCompletionSource|ManualResetValueTaskSourceCore|TimeProvider|SystemTimeProvider|System\.Threading\.Channels')
def categorize(stack, comm):
    # stack: leaf first
    if comm.startswith('.NET Tiered') or any('libclrjit' in s for s in stack[:3]):
        return 'JIT (tiered compilation)'
    syms = ' '.join(stack)
    if '__sched_yield' in syms or 'do_sched_yield' in syms:
        return 'thread pool spin (sched_yield)'
    kernel_leaf = stack and stack[0].startswith('K:')
    if kernel_leaf or (stack and stack[0].split(' ')[0] in ('__send', '__libc_recv', 'epoll_wait')):
        for s in stack:
            if '__sys_sendto' in s or s.startswith('__send'): return 'syscall send (incl. loopback delivery to peer)'
            if '__sys_recvfrom' in s or s.startswith('__libc_recv'): return 'syscall recv'
            if 'do_epoll_wait' in s or s.startswith('epoll_wait'): return 'syscall epoll_wait (incl. sleeping/waking)'
            if 'futex' in s: return 'syscall futex (thread wake/sleep)'
            if 'sys_write' in s or 'sys_read' in s: return 'syscall read/write'
            if 'clock_gettime' in s or 'vdso' in s: return 'clock'
        return 'kernel other (preemption, irq, page faults)'
    for s in stack:
        if 'vdso' in s or 'clock_gettime' in s: return 'clock'
        if '[Reliability.Mdp] Reliability.Mdp.Broker.MajordomoBroker' in s: return 'MajordomoBroker loop (own code)'
        if '[Reliability.Mdp] Reliability.Mdp.Broker.' in s: return 'broker logic (BrokerCore etc.)'
        if '[Reliability.Mdp] Reliability.Mdp.Protocol' in s: return 'MDP codec'
        if '[Reliability.Mdp] Reliability.Mdp.Worker' in s: return 'MajordomoWorker'
        if '[Reliability.Mdp] Reliability.Mdp.Client' in s: return 'Majordomo clients'
        if '[Reliability.Benchmarks]' in s: return 'benchmark loop'
        if 'Reliability.Transport.Internal.Zmtp' in s: return 'transport: ZMTP connection (ZmtpConnection, ZmtpDecoder, ZmtpHandshake, ZmtpHeartbeat)'
        if '[Reliability.Transport]' in s: return 'transport: sockets/queues/pipes'
        if '[System.Net.Sockets]' in s: return '.NET Sockets (managed)'
        if MACH.search(s): return 'tasks/thread pool/cancellation/timers'
        if 'System.Threading.Monitor' in s or 'System.Threading.Lock' in s: return 'locks'
    if stack and 'libcoreclr' in stack[0]: return 'runtime native (GC, stubs, locks)'
    return 'other'
cur = None; stack = []
def flush():
    global cur, stack
    if cur is None: return
    pid, comm = cur
    n[pid] += 1
    per[pid][categorize(stack, comm)] += 1
    joined = '\n'.join(stack)
    for q in queries:
        if re.search(q, joined): qhits[pid][q] += 1
    cur = None; stack = []
for line in sys.stdin:
    if not line.strip():
        flush(); continue
    if line[0] not in '\t ':
        m = head.match(line)
        if m: flush(); cur = (m.group(2), m.group(1)); continue
    parts = line.strip().split(None, 1)
    if len(parts) == 2 and cur is not None:
        addr, sym = parts
        m2 = re.match(r'(.*) \((.*)\)$', sym)
        dso = ''
        if m2: sym, dso = m2.group(1), m2.group(2)
        sym = clean(sym)
        if sym == '[unknown]': sym = '[unknown ' + dso.split('/')[-1] + ']'
        if addr.startswith('ffffffff'): sym = 'K:' + sym
        stack.append(sym)
flush()
tot = sum(n.values())
for pid, c in n.most_common():
    print(f"=== {roles.get(pid, '?')} (pid {pid}): {c} samples, {100*c/tot:.1f}% of all samples")
    for k, v in per[pid].most_common():
        print(f"  {100*v/c:6.1f}%  {k}")
    for q in queries:
        print(f"  [stacks matching /{q}/: {100*qhits[pid][q]/c:.1f}%]")
