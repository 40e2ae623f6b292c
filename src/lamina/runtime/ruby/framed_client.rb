# frozen_string_literal: true

# The Runtime API over Lamina's framed encoding: one TCP connection that starts with the preface
# `LAMINA1\n`, then frames both ways (a 4-byte big-endian length, a kind letter, the body).
#
#   N               ready for the next event (every one after the first ends an invocation)
#   R id\npayload   the invocation's result      X id\ntype\ndocument   its error
#   I type\ndocument  the init error             E headers\r\n\r\npayload   an event (from the server)
#
# The server answers nothing but the next `E`, so a result waits here and goes out with the `N`
# that follows it, in one write: a warm invocation costs one write and one read. A result the
# process reports just before it exits (a critical exception, an init error) is sent, then the
# connection is half-closed and the runtime waits for the server to close it: the server has read
# the result by then, before it learns that the process ended.
#
# A server that closes the connection before it ever sent an event does not speak frames:
# `Refused` tells the runtime to use HTTP instead.

module LaminaRuntime
  # An event as the runtime reads it: its Runtime API headers by name, and its payload.
  class Event
    attr_reader :body

    def initialize(headers, body)
      @headers = headers
      @body = body
    end

    def [](name)
      @headers[name]
    end
  end

  class FramedClient
    PREFACE = "LAMINA1\n".b.freeze
    NEXT = [1, 'N'].pack('Na').freeze
    EVENT = 'E'.ord
    # How long a runtime about to exit waits for the server to close the connection.
    CLOSE_WAIT_SECONDS = 5
    BROKEN = [EOFError, IOError, SystemCallError, SocketError].freeze

    # The server closed the connection without ever sending an event: it does not speak frames.
    class Refused < StandardError; end

    def initialize(host, port)
      @host = host
      @port = port
      @socket = nil
      @pending = nil # the last result's frame, sent with the next N
      @served = false # an event came over frames: the server speaks them
    end

    def next_invocation
      frames = @pending ? [*@pending, NEXT] : [NEXT]
      @pending = nil
      exchange(frames)
    end

    def post_response(request_id, body, _content_type)
      @pending = frame('R', request_id, "\n", body.to_s)
    end

    def post_error(request_id, report)
      @pending = frame('X', request_id, "\n", line(report.header_type), "\n", report.body.to_json)
    end

    def post_init_error(report)
      @pending = frame('I', line(report.header_type), "\n", report.body.to_json)
      close
    end

    # Send a result still waiting (the process is about to exit), then let the connection go.
    def close
      pending = @pending
      @pending = nil
      return disconnect unless pending

      fresh = @socket.nil?
      connect if fresh
      @socket.write(*(fresh ? [PREFACE, *pending] : pending))
      @socket.close_write
      IO.select([@socket], nil, nil, CLOSE_WAIT_SECONDS)
    rescue *BROKEN
      nil
    ensure
      disconnect
    end

    private

    # Send `frames`, then read the event that answers them. A kept-alive connection the server
    # closed meanwhile is retried once, on a new connection.
    def exchange(frames)
      retried = false
      begin
        fresh = @socket.nil?
        connected = false
        connect if fresh
        connected = true
        @socket.write(*(fresh ? [PREFACE, *frames] : frames))
        read_event
      rescue *BROKEN
        disconnect
        raise Refused if connected && !@served
        raise ApiGone if retried || fresh

        retried = true
        retry
      end
    end

    def connect
      @socket = Socket.tcp(@host, @port)
      @socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
    end

    def disconnect
      @socket&.close
    rescue IOError
      nil
    ensure
      @socket = nil
    end

    def read_event
      loop do
        head = read_exactly(5)
        # An HTTP server's answer to a preface it does not know.
        raise EOFError, 'the Runtime API does not speak frames' if head.start_with?('HTTP')

        length = head.unpack1('N')
        raise EOFError, 'an empty frame' if length.zero?

        body = length > 1 ? read_exactly(length - 1) : ''.b
        next unless head.getbyte(4) == EVENT # no other kind is meant for a runtime

        @served = true
        return parse_event(body)
      end
    end

    def read_exactly(count)
      data = @socket.read(count)
      raise EOFError, 'the Runtime API closed the connection' if data.nil? || data.bytesize < count

      data
    end

    # `Name: value\r\n` lines, an empty line, then the payload.
    def parse_event(body)
      headers = {}
      pos = 0
      while (eol = body.index("\r\n", pos)) && eol > pos
        colon = body.index(':', pos)
        if colon && colon < eol
          headers[body.byteslice(pos, colon - pos)] = text(body.byteslice(colon + 1, eol - colon - 1).strip)
        end
        pos = eol + 2
      end
      raise EOFError, 'a malformed event frame' unless eol

      Event.new(headers, body.byteslice(eol + 2, body.bytesize - eol - 2))
    end

    # A header value: UTF-8 if it is valid UTF-8, else Latin-1 (what the server writes today).
    def text(value)
      utf8 = value.force_encoding(Encoding::UTF_8)
      utf8.valid_encoding? ? utf8 : value.force_encoding(Encoding::ISO_8859_1).encode(Encoding::UTF_8)
    end

    # A frame of `kind` whose body is `parts`, as strings to write in one call.
    def frame(kind, *parts)
      length = 1 + parts.sum(&:bytesize)
      [[length, kind].pack('Na'), *parts]
    end

    # A frame's text field ends at the first newline.
    def line(text)
      text.to_s.delete("\r\n")
    end
  end
end
