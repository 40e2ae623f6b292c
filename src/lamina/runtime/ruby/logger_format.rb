# frozen_string_literal: true

# The standard library's Logger as AWS's Ruby runtime sets it up: a logger writing to $stdout or
# $stderr formats its lines with the invocation's request id,
#   I, [2024-05-01T12:00:00.123456 #1]  INFO 0b5e6c1a-... -- progname: message
# or, with AWS_LAMBDA_LOG_FORMAT=JSON, writes one JSON record a line,
#   {"timestamp", "level", "message", "requestId", "logger" (its progname),
#    "errorType", "errorMessage", "stackTrace", "location" (an exception's)}
# (members without a value left out: no requestId during init), and unless the function gave the
# logger a level, AWS_LAMBDA_LOG_LEVEL is its level (TRACE is DEBUG: Logger has nothing below).
# $stdout itself (puts, print) is written as it is. Loaded by lazy_gems.rb once the function has
# loaded Logger (the runtime has loaded JSON).

module LaminaRuntime
  class LogFormatter < ::Logger::Formatter
    LINE = "%s, [%s #%d] %5s %s -- %s: %s\n"

    def call(severity, time, progname, msg)
      line = format(LINE, severity[0, 1], format_datetime(time), Process.pid, severity,
                    $_global_aws_request_id, progname, msg2str(msg))
      line.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
    end
  end

  class JsonLogFormatter < ::Logger::Formatter
    TIME = '%Y-%m-%dT%H:%M:%S.%6NZ'
    # A backtrace line: "app.rb:3:in `handler'" (Ruby 3.4 writes 'handler' with two single quotes).
    FRAME = /\A(?<file>.+):(?<line>\d+):in [`'](?<method>.+)'\z/.freeze

    def call(severity, time, progname, msg)
      record = {
        timestamp: time.utc.strftime(TIME),
        level: severity,
        message: utf8(msg.is_a?(Exception) ? msg.message : msg2str(msg)),
        requestId: $_global_aws_request_id
      }
      name = progname.nil? ? nil : utf8(progname)
      record[:logger] = name unless name.nil? || name.empty?
      add_error(record, msg) if msg.is_a?(Exception)
      "#{JSON.generate(record.compact)}\n"
    end

    private

    def add_error(record, error)
      record[:errorType] = error.class.to_s
      record[:errorMessage] = utf8(error.message)
      record[:stackTrace] = Array(error.backtrace).map { |frame| utf8(frame) }
      first = record[:stackTrace].first
      return if first.nil?

      found = FRAME.match(first)
      record[:location] = found ? "#{found[:file]}:#{found[:method]}:#{found[:line]}" : first
    end

    def utf8(value)
      value.to_s.encode(Encoding::UTF_8, invalid: :replace, undef: :replace, replace: "\uFFFD")
    end
  end

  module LoggerDefaults
    LEVELS = {
      'TRACE' => ::Logger::DEBUG, 'DEBUG' => ::Logger::DEBUG, 'INFO' => ::Logger::INFO,
      'WARN' => ::Logger::WARN, 'ERROR' => ::Logger::ERROR, 'FATAL' => ::Logger::FATAL
    }.freeze
    JSON_FORMAT = ENV.fetch('AWS_LAMBDA_LOG_FORMAT', '').upcase == 'JSON'
    LEVEL = LEVELS[ENV.fetch('AWS_LAMBDA_LOG_LEVEL', '').upcase]

    def initialize(logdev, *args, **kwargs, &block)
      super
      return unless logdev.equal?($stdout) || logdev.equal?($stderr) || logdev.equal?(STDOUT) || logdev.equal?(STDERR)

      formatter = JSON_FORMAT ? JsonLogFormatter.new : LogFormatter.new
      formatter.datetime_format = @default_formatter.datetime_format
      @default_formatter = formatter
      self.level = LEVEL if LEVEL && !kwargs.key?(:level)
    end
  end
end

::Logger.prepend(LaminaRuntime::LoggerDefaults)
