# frozen_string_literal: true

# The standard library's Logger as AWS's Ruby runtime sets it up: a logger writing to $stdout or
# $stderr formats its lines with the invocation's request id,
#   I, [2024-05-01T12:00:00.123456 #1]  INFO 0b5e6c1a-... -- progname: message
# Loaded by lazy_gems.rb once the function has loaded Logger.

module LaminaRuntime
  class LogFormatter < ::Logger::Formatter
    LINE = "%s, [%s #%d] %5s %s -- %s: %s\n"

    def call(severity, time, progname, msg)
      line = format(LINE, severity[0, 1], format_datetime(time), Process.pid, severity,
                    $_global_aws_request_id, progname, msg2str(msg))
      line.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
    end
  end

  module LoggerDefaults
    def initialize(logdev, *args, **kwargs, &block)
      super
      return unless logdev.equal?($stdout) || logdev.equal?($stderr) || logdev.equal?(STDOUT) || logdev.equal?(STDERR)

      formatter = LogFormatter.new
      formatter.datetime_format = @default_formatter.datetime_format
      @default_formatter = formatter
    end
  end
end

::Logger.prepend(LaminaRuntime::LoggerDefaults)
