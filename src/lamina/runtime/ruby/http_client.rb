# frozen_string_literal: true

# The Runtime API over HTTP/1.1, on one kept-alive connection: what the runtime uses when the
# server does not speak Lamina's framed encoding (framed_client.rb). Loaded only then, so the
# cold start of a runtime that speaks frames does not pay for Net::HTTP.

LaminaRuntime.require_own('net/http')

module LaminaRuntime
  class HttpClient
    API_PREFIX = '/2018-06-01/runtime'
    PATH_NEXT = "#{API_PREFIX}/invocation/next"
    PATH_INVOCATION = "#{API_PREFIX}/invocation/"
    PATH_INIT_ERROR = "#{API_PREFIX}/init/error"
    HEADER_ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type'

    STALE_CONNECTION = [EOFError, Errno::ECONNRESET, Errno::EPIPE, Errno::ECONNABORTED].freeze
    UNREACHABLE = [IOError, SystemCallError, SocketError, Net::OpenTimeout, Net::ReadTimeout,
                   Net::WriteTimeout, Net::HTTPBadResponse].freeze

    def initialize(host, port)
      # No proxy, whatever the function's variables say; no read timeout on the long poll; the
      # connection is reused however long an invocation ran (the server keeps it open).
      @http = Net::HTTP.new(host, port, nil)
      @http.read_timeout = nil
      @http.keep_alive_timeout = 1 << 30
      @http.max_retries = 0
    end

    def next_invocation
      response = call(Net::HTTP::Get.new(PATH_NEXT))
      LaminaRuntime.fatal("Failed to get next invocation. Http Response code: #{response.code}") unless response.code == '200'
      response
    end

    def post_response(request_id, body, content_type)
      post("#{PATH_INVOCATION}#{request_id}/response", body, { 'Content-Type' => content_type }, 'invocation response')
    end

    def post_error(request_id, report)
      post("#{PATH_INVOCATION}#{request_id}/error", report.body.to_json,
           { 'Content-Type' => JSON_TYPE, HEADER_ERROR_TYPE => report.header_type }, 'invocation error')
    end

    def post_init_error(report)
      post(PATH_INIT_ERROR, report.body.to_json,
           { 'Content-Type' => JSON_TYPE, HEADER_ERROR_TYPE => report.header_type }, 'init error')
    end

    def close
      @http.finish if @http.started?
    rescue IOError
      nil
    end

    private

    def post(path, body, headers, what)
      request = Net::HTTP::Post.new(path, headers)
      request.body = body
      response = call(request)
      code = response.code.to_i
      # 413: the result is over the size limit; the platform reports that to the caller and this
      # environment stays usable.
      return if code < 300 || code == 413

      LaminaRuntime.fatal("Failed to post #{what}. Http response code: #{code}. #{response.body}")
    end

    def call(request)
      retried = false
      begin
        reused = @http.started?
        @http.start unless reused
        @http.request(request)
      rescue *STALE_CONNECTION
        # The server may have closed the kept-alive connection: once more, on a new one.
        close
        raise ApiGone if retried || !reused

        retried = true
        retry
      rescue *UNREACHABLE
        close
        raise ApiGone
      end
    end
  end
end
