import org.zeromq.ZMQ;

import java.util.ArrayList;
import java.util.List;

/**
 * A JeroMQ peer for the interop tests (JeroMQ 0.3 speaks ZMTP/2.0 only).
 * Usage: JeroPeer TYPE bind|connect ENDPOINT COUNT
 * Prints "PORT n" once bound, "MSG hex,hex,..." for every message received, "DONE" at the end;
 * exits 2 with "TIMEOUT" when a receive waits longer than 20 s.
 *   REP, ROUTER: echo COUNT messages back unchanged.
 *   REQ, DEALER: send COUNT requests ("request i"; DEALER adds the empty delimiter), print the replies.
 *   PUSH: send COUNT two-frame messages. PULL, SUB (subscribed to "A"): print COUNT messages.
 *   PUB: publish "A i" and "B i" every 20 ms until killed or 1500 rounds.
 *   MDPWORKER: an MDP/0.1 worker for service "echo" (DEALER), heartbeating every 250 ms, answers
 *     COUNT requests with "jero:" + body. MDPCLIENT: an MDP/0.1 client (REQ), COUNT requests to "echo".
 */
public final class JeroPeer {
    public static void main(String[] args) throws Exception {
        String type = args[0];
        if (type.equals("MDPWORKER")) {
            mdpWorker(args[2], Integer.parseInt(args[3]));
            return;
        }
        boolean bind = args[1].equals("bind");
        String endpoint = args[2];
        int count = Integer.parseInt(args[3]);
        ZMQ.Context context = ZMQ.context(1);
        ZMQ.Socket socket = context.socket(typeOf(type.equals("MDPCLIENT") ? "REQ" : type));
        socket.setLinger(1000);
        socket.setReceiveTimeOut(20000);
        if (type.equals("SUB")) {
            socket.subscribe("A".getBytes("US-ASCII"));
        }
        if (bind) {
            System.out.println("PORT " + socket.bindToRandomPort(endpoint));
        } else {
            socket.connect(endpoint);
        }
        System.out.flush();
        for (int i = 0; i < count || type.equals("PUB"); i++) {
            switch (type) {
                case "REP":
                case "ROUTER":
                    send(socket, receive(socket));
                    break;
                case "REQ":
                    send(socket, List.of(("request " + i).getBytes("US-ASCII")));
                    receive(socket);
                    break;
                case "DEALER":
                    send(socket, List.of(new byte[0], ("request " + i).getBytes("US-ASCII")));
                    receive(socket);
                    break;
                case "MDPCLIENT":
                    send(socket, List.of("MDPC01".getBytes("US-ASCII"), "echo".getBytes("US-ASCII"), ("request " + i).getBytes("US-ASCII")));
                    receive(socket);
                    break;
                case "PUSH":
                    send(socket, List.of(("push " + i).getBytes("US-ASCII"), new byte[] {0, 1, (byte) 0xFF}));
                    break;
                case "PUB":
                    if (i >= 1500) {
                        return;
                    }
                    send(socket, List.of(("A " + i).getBytes("US-ASCII")));
                    send(socket, List.of(("B " + i).getBytes("US-ASCII")));
                    Thread.sleep(20);
                    break;
                default:
                    receive(socket);
                    break;
            }
        }
        System.out.println("DONE");
        System.out.flush();
        socket.close();
        context.term();
    }

    /** MDP/0.1 worker (RFC 7): READY, then REQUEST to REPLY, HEARTBEAT both ways, DISCONNECT ends it. */
    private static void mdpWorker(String endpoint, int count) throws Exception {
        ZMQ.Context context = ZMQ.context(1);
        ZMQ.Socket socket = context.socket(ZMQ.DEALER);
        socket.setLinger(1000);
        socket.setReceiveTimeOut(250);
        socket.connect(endpoint);
        byte[] empty = new byte[0];
        byte[] header = "MDPW01".getBytes("US-ASCII");
        send(socket, List.of(empty, header, new byte[] {1}, "echo".getBytes("US-ASCII")));
        long deadline = System.currentTimeMillis() + 20000;
        int served = 0;
        while (served < count) {
            if (System.currentTimeMillis() > deadline) {
                System.out.println("TIMEOUT");
                System.out.flush();
                System.exit(2);
            }
            byte[] first = socket.recv(0);
            if (first == null) {
                send(socket, List.of(empty, header, new byte[] {4}));
                continue;
            }
            List<byte[]> frames = new ArrayList<>();
            frames.add(first);
            while (socket.hasReceiveMore()) {
                frames.add(socket.recv(0));
            }
            byte command = frames.get(2)[0];
            if (command == 5) {
                System.out.println("DISCONNECT");
                System.exit(3);
            }
            if (command == 2) {
                byte[] body = frames.get(frames.size() - 1);
                byte[] reply = new byte[body.length + 5];
                System.arraycopy("jero:".getBytes("US-ASCII"), 0, reply, 0, 5);
                System.arraycopy(body, 0, reply, 5, body.length);
                send(socket, List.of(empty, header, new byte[] {3}, frames.get(3), empty, reply));
                served++;
            }
        }
        System.out.println("DONE");
        System.out.flush();
        socket.close();
        context.term();
    }

    private static int typeOf(String type) {
        switch (type) {
            case "REQ": return ZMQ.REQ;
            case "REP": return ZMQ.REP;
            case "DEALER": return ZMQ.DEALER;
            case "ROUTER": return ZMQ.ROUTER;
            case "PUSH": return ZMQ.PUSH;
            case "PULL": return ZMQ.PULL;
            case "PUB": return ZMQ.PUB;
            case "SUB": return ZMQ.SUB;
            default: throw new IllegalArgumentException(type);
        }
    }

    private static List<byte[]> receive(ZMQ.Socket socket) {
        List<byte[]> frames = new ArrayList<>();
        do {
            byte[] frame = socket.recv(0);
            if (frame == null) {
                System.out.println("TIMEOUT");
                System.out.flush();
                System.exit(2);
            }
            frames.add(frame);
        } while (socket.hasReceiveMore());
        StringBuilder line = new StringBuilder("MSG ");
        for (int i = 0; i < frames.size(); i++) {
            line.append(i == 0 ? "" : ",").append(hex(frames.get(i)));
        }
        System.out.println(line);
        System.out.flush();
        return frames;
    }

    private static void send(ZMQ.Socket socket, List<byte[]> frames) {
        for (int i = 0; i < frames.size(); i++) {
            socket.send(frames.get(i), i < frames.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (byte b : bytes) {
            text.append(String.format("%02x", b));
        }
        return text.length() == 0 ? "-" : text.toString();
    }
}
