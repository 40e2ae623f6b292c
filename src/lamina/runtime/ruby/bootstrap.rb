# frozen_string_literal: true

# Lamina's Ruby runtime: the process that runs inside every ruby3.x execution environment.
#
# Started as `ruby --disable-gems bootstrap.rb`. It loads the function's handler (`_HANDLER`,
# `file.method` or `file.Module::Class.method`), then loops on the Lambda Runtime API at
# `$AWS_LAMBDA_RUNTIME_API`: fetch the next event, call `handler(event:, context:)`, post the
# result or the error. What a function can observe (the context object, the error documents and
# their `Function<...>` / `Init<...>` types, the log lines, which exceptions end the process)
# follows AWS's own Ruby runtime interface client, the aws_lambda_ric gem.
#
# It runs on any Ruby 3.x and uses only the standard library: the function's Ruby has nothing of
# Lamina installed. It sits on the hot path, so it keeps one keep-alive connection to the Runtime
# API and does little work per invocation. RubyGems, which costs tens of milliseconds to load, is
# loaded only when the function first needs it (see lazy_gems.rb).

# Nothing of the function's may shadow the libraries the runtime itself loads: RUBYLIB puts the
# function's directories first on the load path, so they are set aside while the runtime loads.
load_path = $LOAD_PATH.dup
rubylib = ENV.fetch('RUBYLIB', '').split(File::PATH_SEPARATOR).map { |dir| File.expand_path(dir) }
$LOAD_PATH.reject! { |dir| rubylib.include?(dir) }
require 'json'
require 'net/http'
$LOAD_PATH.replace(load_path)

$stdout.sync = true

# The invocation's request id, as AWS's runtime exposes it (its logger lines carry it).
$_global_aws_request_id = nil

# The context object handed to the handler, with AWS's class name and readers.
class LambdaContext
  attr_reader :aws_request_id, :invoked_function_arn, :log_group_name, :log_stream_name,
              :function_name, :memory_limit_in_mb, :function_version, :identity, :client_context,
              :deadline_ms

  W3C_FIELDS = %w[traceparent tracestate baggage].freeze

  def initialize(headers)
    env = LaminaRuntime::FUNCTION_ENV
    @clock_diff = Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond) -
                  Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond)
    @deadline_ms = headers[LaminaRuntime::HEADER_DEADLINE_MS].to_i
    @aws_request_id = headers[LaminaRuntime::HEADER_REQUEST_ID]
    @invoked_function_arn = headers[LaminaRuntime::HEADER_FUNCTION_ARN]
    @log_group_name = env[:log_group_name]
    @log_stream_name = env[:log_stream_name]
    @function_name = env[:function_name]
    @memory_limit_in_mb = env[:memory_limit_in_mb]
    @function_version = env[:function_version]
    identity = headers[LaminaRuntime::HEADER_COGNITO_IDENTITY]
    @identity = JSON.parse(identity) unless identity.nil? || identity.empty?
    client_context = headers[LaminaRuntime::HEADER_CLIENT_CONTEXT]
    @client_context = JSON.parse(client_context) unless client_context.nil? || client_context.empty?
    @w3c = pop_w3c
  end

  def get_remaining_time_in_millis
    remaining = @deadline_ms - (Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond) + @clock_diff)
    remaining.positive? ? remaining : 0
  end

  # The W3C trace context (traceparent, tracestate, baggage) the invocation carried; a new Hash
  # on every call.
  def w3c
    @w3c.dup
  end

  private

  # The "w3c" member of the client context is taken out of it and offered through #w3c.
  def pop_w3c
    return {} unless @client_context.is_a?(Hash) && @client_context.key?('w3c')

    raw = @client_context.delete('w3c')
    return {} unless raw.is_a?(Hash)

    W3C_FIELDS.each_with_object({}) { |key, out| out[key] = raw[key] if raw[key].is_a?(String) }
  end
end

module LaminaRuntime
  RUNTIME_FILE = File.expand_path(__FILE__)
  RUNTIME_DIR = File.dirname(RUNTIME_FILE)
  RUNTIME_PREFIX = "#{RUNTIME_DIR}/"

  API_PREFIX = '/2018-06-01/runtime'
  PATH_NEXT = "#{API_PREFIX}/invocation/next"
  PATH_INVOCATION = "#{API_PREFIX}/invocation/"
  PATH_INIT_ERROR = "#{API_PREFIX}/init/error"

  HEADER_REQUEST_ID = 'Lambda-Runtime-Aws-Request-Id'
  HEADER_DEADLINE_MS = 'Lambda-Runtime-Deadline-Ms'
  HEADER_FUNCTION_ARN = 'Lambda-Runtime-Invoked-Function-Arn'
  HEADER_TRACE_ID = 'Lambda-Runtime-Trace-Id'
  HEADER_CLIENT_CONTEXT = 'Lambda-Runtime-Client-Context'
  HEADER_COGNITO_IDENTITY = 'Lambda-Runtime-Cognito-Identity'
  HEADER_ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type'

  JSON_TYPE = 'application/json'
  UNKNOWN_TYPE = 'application/unknown'

  # Exit statuses of AWS's runtime: after a critical exception in the handler, after an init error.
  EXIT_CRITICAL = -1
  EXIT_INIT_ERROR = -4

  # The environment does not change between invocations: read once.
  FUNCTION_ENV = {
    log_group_name: ENV['AWS_LAMBDA_LOG_GROUP_NAME'],
    log_stream_name: ENV['AWS_LAMBDA_LOG_STREAM_NAME'],
    function_name: ENV['AWS_LAMBDA_FUNCTION_NAME'],
    memory_limit_in_mb: ENV['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
    function_version: ENV['AWS_LAMBDA_FUNCTION_VERSION']
  }.freeze

  # The Runtime API has gone away: the environment is being torn down.
  class ApiGone < StandardError; end

  # An error as the runtime reports it: the document posted to the Runtime API (and printed in
  # the log) and the error type header. `Function<RuntimeError>`, `Init<LoadError>`...: the
  # classification, then the exception's class. The header names the class only for a few core
  # exceptions and says `Function<UserException>` for the rest, as AWS's runtime does.
  class ErrorReport
    HEADER_CLASSES = %w[ArgumentError NoMethodError Exception StandardError NameError LoadError
                        SystemExit SystemStackError].freeze
    MAX_FRAMES = 100

    attr_reader :body, :header_type

    def initialize(exception, classification)
      name = exception.class.to_s
      type = "#{classification}<#{name}>"
      @header_type = HEADER_CLASSES.include?(name) ? type : 'Function<UserException>'
      @body = {
        errorMessage: LaminaRuntime.utf8(exception.message),
        errorType: type,
        stackTrace: ErrorReport.stack_trace(exception)
      }
    end

    # The exception's frames, without the runtime's own.
    def self.stack_trace(exception)
      locations = exception.backtrace_locations
      if locations
        frames = []
        locations.each do |location|
          next if location.absolute_path&.start_with?(RUNTIME_PREFIX)

          frames << LaminaRuntime.utf8(location.to_s)
          break if frames.size == MAX_FRAMES
        end
        frames
      else
        frames = (exception.backtrace || []).reject { |line| line.start_with?(RUNTIME_PREFIX) }
        frames.first(MAX_FRAMES).map { |line| LaminaRuntime.utf8(line) }
      end
    end

    def log(headline)
      $stdout.puts(headline, JSON.pretty_generate(@body))
    end
  end

  # The function's handler: `file.method` (a method defined at the top level of file.rb) or
  # `file.Module::Class.method` (a class-level method).
  class Handler
    MAIN = TOPLEVEL_BINDING.receiver

    attr_reader :file_name

    def initialize(name)
      parts = name.split('.')
      case parts.size
      when 2 then @file_name, method_name = parts
      when 3 then @file_name, @class_name, method_name = parts
      else
        raise ArgumentError, "Invalid handler #{parts}, must be of form FILENAME.METHOD or " \
                             'FILENAME.CLASS.METHOD, where FILENAME names the Ruby source file ' \
                             'FILENAME.rb, CLASS is an optional module/class namespace and METHOD ' \
                             'is a callable method (a class-level method when CLASS is given).'
      end
      @method_name = method_name.to_sym
    end

    # A missing method or class is found here, at the first invocation, as AWS's runtime finds it.
    def call(event, context)
      receiver = @class_name ? Kernel.const_get(@class_name) : MAIN
      receiver.__send__(@method_name, event: event, context: context)
    end
  end

  # The Runtime API over one kept-alive HTTP/1.1 connection.
  class Client
    STALE_CONNECTION = [EOFError, Errno::ECONNRESET, Errno::EPIPE, Errno::ECONNABORTED].freeze
    UNREACHABLE = [IOError, SystemCallError, SocketError, Net::OpenTimeout, Net::ReadTimeout,
                   Net::WriteTimeout, Net::HTTPBadResponse].freeze

    def initialize(address)
      host, _, port = address.rpartition(':')
      host = host.delete_prefix('[').delete_suffix(']')
      # No proxy, whatever the function's variables say; no read timeout on the long poll; the
      # connection is reused however long an invocation ran (the server keeps it open).
      @http = Net::HTTP.new(host, port.to_i, nil)
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

  module_function

  def utf8(text)
    text = text.to_s
    return text if text.encoding == Encoding::UTF_8 && text.valid_encoding?

    text.dup.force_encoding(Encoding::UTF_8).scrub
  end

  def fatal(message)
    $stdout.flush
    $stderr.puts("[ERROR] Runtime.LambdaRuntimeClientError: #{message}")
    exit!(1)
  end

  def marshal(result)
    if result.is_a?(IO) || (defined?(::StringIO) && result.is_a?(::StringIO))
      [result.read.to_s, UNKNOWN_TYPE]
    else
      [result.to_json, JSON_TYPE]
    end
  end

  # Load the handler's file; the Init<...> error report if that fails.
  def init(handler_name, task_root)
    handler = Handler.new(handler_name)
    $LOAD_PATH.unshift(task_root) unless $LOAD_PATH.include?(task_root)
    require handler.file_name
    [handler, nil]
  rescue Exception => e # rubocop:disable Lint/RescueException -- whatever the file raises, as AWS
    [nil, ErrorReport.new(e, 'Init')]
  end

  # One invocation; false once the process should exit (after a critical exception, as AWS).
  def invoke(client, handler, response)
    request_id = response[HEADER_REQUEST_ID]
    fatal('Failed to find header Lambda-Runtime-Aws-Request-Id in response') if request_id.nil? || request_id.empty?
    $_global_aws_request_id = request_id
    trace_id = response[HEADER_TRACE_ID]
    if trace_id
      ENV['_X_AMZN_TRACE_ID'] = trace_id
    else
      ENV.delete('_X_AMZN_TRACE_ID')
    end

    begin
      context = LambdaContext.new(response)
      event = response['Content-Type'] == JSON_TYPE ? JSON.parse(response.body) : response.body
      body, content_type = marshal(handler.call(event, context))
    rescue NameError => e # with NoMethodError: the handler is missing, or the code is broken
      report, headline, critical = ErrorReport.new(e, 'Function'), 'Critical exception from handler', true
    rescue StandardError => e
      report, headline, critical = ErrorReport.new(e, 'Function'), 'Error raised from handler method', false
    rescue Exception => e # rubocop:disable Lint/RescueException -- SystemExit, SystemStackError...
      report, headline, critical = ErrorReport.new(e, 'Function'), 'Critical exception from handler', true
    end

    $stdout.flush
    if report
      report.log(headline)
      client.post_error(request_id, report)
      !critical
    else
      client.post_response(request_id, body, content_type)
      true
    end
  end

  def main
    address = ENV['AWS_LAMBDA_RUNTIME_API']
    abort('AWS_LAMBDA_RUNTIME_API is not set') if address.nil? || address.empty?
    handler_name = ENV['_HANDLER'] || ARGV[0] || ''
    task_root = ENV['LAMBDA_TASK_ROOT'] || Dir.pwd
    require File.join(RUNTIME_DIR, 'lazy_gems')

    client = Client.new(address)
    handler, report = init(handler_name, task_root)
    if report
      report.log("Init error when loading handler #{handler_name}")
      client.post_init_error(report)
      client.close
      exit(EXIT_INIT_ERROR)
    end
    loop do
      break unless invoke(client, handler, client.next_invocation)
    end
    client.close
    exit(EXIT_CRITICAL)
  rescue ApiGone
    # The platform has gone away (the environment is being shut down): leave quietly.
    exit!(report || !handler ? 1 : 0)
  end
end

LaminaRuntime.main if File.expand_path($PROGRAM_NAME) == LaminaRuntime::RUNTIME_FILE
