package io.pgcheckpoint.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Properties;
import javax.net.SocketFactory;

/**
 * pgjdbc over a PostgreSQL Unix socket, with the JDK's own Unix-domain channels (Java 16+) and
 * no native library. pgjdbc asks its {@code socketFactory} for a {@link Socket} and connects it to
 * host:port; the socket returned here ignores that address and connects to the socket file named
 * by {@code socketFactoryArg} instead. Used for the drill's throwaway server, which listens on a
 * socket in a directory shared only by the drill pod's two containers and on no TCP port.
 */
public final class UnixSocketFactory extends SocketFactory {
    /** pgjdbc's property holding the argument for the factory: here the path of the socket file. */
    static final String ARG = "socketFactoryArg";
    private final Path socketFile;

    /** pgjdbc instantiates the factory with the connection's properties. */
    public UnixSocketFactory(Properties info) {
        this.socketFile = Path.of(info.getProperty(ARG));
    }

    /** The socket file libpq would use: {@code <dir>/.s.PGSQL.<port>}. */
    static Path socketFile(String directory, int port) {
        return Path.of(directory, ".s.PGSQL." + port);
    }

    @Override
    public Socket createSocket() {
        return new ChannelSocket(socketFile);
    }

    /** Whatever host and port are asked for, the one socket file: this factory serves one server. */
    private Socket connected() throws IOException {
        Socket s = createSocket();
        s.connect(null);
        return s;
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected();
    }

    /** A {@link Socket} in front of a Unix-domain {@link SocketChannel}; TCP options are accepted and ignored. */
    static final class ChannelSocket extends Socket {
        private final Path file;
        private SocketChannel channel;
        private InputStream in;
        private OutputStream out;
        private int soTimeout;
        private boolean closed;

        ChannelSocket(Path file) {
            this.file = file;
        }

        @Override
        public void connect(SocketAddress ignored) throws IOException {
            connect(ignored, 0);
        }

        @Override
        public synchronized void connect(SocketAddress ignored, int timeout) throws IOException {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(file));
            } catch (IOException e) {
                ch.close();
                // as for TCP: nobody listening (yet) is "refused", so that a caller may wait for a booting server
                ConnectException refused = new ConnectException("cannot connect to the Unix socket " + file + ": " + e.getMessage());
                refused.initCause(e);
                throw refused;
            }
            channel = ch;
            in = Channels.newInputStream(ch);
            out = Channels.newOutputStream(ch);
        }

        @Override
        public boolean isConnected() {
            return channel != null && channel.isConnected();
        }

        @Override
        public InputStream getInputStream() throws IOException {
            requireConnected();
            return in;
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            requireConnected();
            return out;
        }

        private void requireConnected() throws SocketException {
            if (channel == null || closed) {
                throw new SocketException("Unix socket " + file + " is not connected");
            }
        }

        @Override
        public synchronized void close() throws IOException {
            closed = true;
            if (channel != null) {
                channel.close();
            }
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void setSoTimeout(int timeout) {
            soTimeout = timeout; // reads on a Unix socket to a local server block; kept for getSoTimeout
        }

        @Override
        public int getSoTimeout() {
            return soTimeout;
        }

        @Override
        public void setTcpNoDelay(boolean on) {
        }

        @Override
        public boolean getTcpNoDelay() {
            return true;
        }

        @Override
        public void setKeepAlive(boolean on) {
        }

        @Override
        public boolean getKeepAlive() {
            return false;
        }

        @Override
        public void setSendBufferSize(int size) {
        }

        @Override
        public int getSendBufferSize() {
            return 65536;
        }

        @Override
        public void setReceiveBufferSize(int size) {
        }

        @Override
        public int getReceiveBufferSize() {
            return 65536;
        }

        @Override
        public void shutdownInput() throws IOException {
            channel.shutdownInput();
        }

        @Override
        public void shutdownOutput() throws IOException {
            channel.shutdownOutput();
        }

        @Override
        public String toString() {
            return "UnixSocket[" + file + "]";
        }
    }
}
