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
# Lamina installed. It sits on the hot path, so it speaks Lamina's framed encoding of the Runtime
# API on one connection (framed_client.rb; HTTP, http_client.rb, only with a server that does not
# speak it) and does little work per invocation. RubyGems, which costs tens of milliseconds to
# load, is loaded only when the function first needs it (see lazy_gems.rb).

module LaminaRuntime
  # Load the runtime's own libraries. RUBYLIB puts the function's directories first on the load
  # path: they are set aside meanwhile, so nothing of the function's can shadow these.
  def self.require_own(*libraries)
    load_path = $LOAD_PATH.dup
    rubylib = ENV.fetch('RUBYLIB', '').split(File::PATH_SEPARATOR).map { |dir| File.expand_path(dir) }
    $LOAD_PATH.reject! { |dir| rubylib.include?(dir) }
    libraries.each { |library| require library }
  ensure
    $LOAD_PATH.replace(load_path)
  end
end

LaminaRuntime.require_own('json', 'socket', 'io/wait')
# AWS's runtime has loaded Net::HTTP before the function's code runs, and with it URI, Timeout and
# Zlib (and autoloads of OpenSSL and IPAddr): here each is loaded when the function first names it,
# which takes ~30 ms off a cold start.
{ Net: 'net/http', URI: 'uri', Timeout: 'timeout', Zlib: 'zlib', OpenSSL: 'openssl', IPAddr: 'ipaddr' }.each do |name, library|
  Object.autoload(name, library)
end

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

  HEADER_REQUEST_ID = 'Lambda-Runtime-Aws-Request-Id'
  HEADER_DEADLINE_MS = 'Lambda-Runtime-Deadline-Ms'
  HEADER_FUNCTION_ARN = 'Lambda-Runtime-Invoked-Function-Arn'
  HEADER_TRACE_ID = 'Lambda-Runtime-Trace-Id'
  HEADER_CLIENT_CONTEXT = 'Lambda-Runtime-Client-Context'
  HEADER_COGNITO_IDENTITY = 'Lambda-Runtime-Cognito-Identity'

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
      content_type = response['Content-Type'] # an event over frames has none: it is JSON
      event = content_type.nil? || content_type == JSON_TYPE ? JSON.parse(response.body) : response.body
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
    require File.join(RUNTIME_DIR, 'framed_client')
    require File.join(RUNTIME_DIR, 'lazy_gems')

    host, _, port = address.rpartition(':')
    host = host.delete_prefix('[').delete_suffix(']')
    client = FramedClient.new(host, port.to_i)
    handler, report = init(handler_name, task_root)
    if report
      report.log("Init error when loading handler #{handler_name}")
      client.post_init_error(report)
      client.close
      exit(EXIT_INIT_ERROR)
    end
    loop do
      begin
        event = client.next_invocation
      rescue FramedClient::Refused
        require File.join(RUNTIME_DIR, 'http_client')
        client = HttpClient.new(host, port.to_i)
        event = client.next_invocation
      end
      break unless invoke(client, handler, event)
    end
    client.close
    exit(EXIT_CRITICAL)
  rescue ApiGone
    # The platform has gone away (the environment is being shut down): leave quietly.
    exit!(report || !handler ? 1 : 0)
  end
end

LaminaRuntime.main if File.expand_path($PROGRAM_NAME) == LaminaRuntime::RUNTIME_FILE
