# frozen_string_literal: true

# RubyGems, loaded when the function first needs it.
#
# The runtime starts with `--disable-gems`: loading RubyGems costs tens of milliseconds of every
# cold start, and a function that uses only the standard library never needs it. It is loaded,
# and from then on everything works as in a Ruby started with gems enabled, the first time
#   - a `require` fails (the library may be a gem: vendor/bundle, a layer's /opt/ruby/gems, the
#     host's gems; GEM_PATH lists them),
#   - the function names `Gem` (an autoload), or
#   - the function calls `gem`.
# Also here: once the function loads the standard library's Logger, loggers that write to $stdout
# or $stderr get the line format of AWS's runtime, with the request id (logger_format.rb); and once
# it loads the AWS SDK (aws-sdk-core, which AWS's Ruby runtimes carry and Lamina's set-up installs
# from Debian), the SDK is pointed at AWS_ENDPOINT_URL (Lamina's API), which SDKs older than
# service-specific endpoints (Debian's 3.168) do not read themselves: without it they would call
# amazonaws.com.

module LaminaRuntime
  module LazyGems
    @loaded = false
    @logger_formatted = false
    @aws_endpoint = nil

    class << self
      # Load RubyGems; false if that was done already (a failed require is then a real LoadError)
      # or cannot be done.
      def load!
        return false if @loaded

        @loaded = true
        Kernel.send(:lamina_gemless_require, 'rubygems')
        true
      rescue LoadError
        false
      end

      # Told of every library loaded through require.
      def required(path)
        case path
        when 'rubygems' then @loaded = true
        when 'logger' then format_logger
        when 'aws-sdk-core' then aws_endpoint
        when 'aws-sdk-s3' then s3_by_path
        end
      end

      private

      def aws_endpoint
        url = ENV['AWS_ENDPOINT_URL']
        return if url.nil? || url.empty? || !defined?(::Aws) || !::Aws.respond_to?(:config)
        return if ENV['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'].to_s.downcase == 'true'

        ::Aws.config[:endpoint] ||= url
        @aws_endpoint = url
      end

      # Buckets by path: a bucket name cannot be a label of Lamina's address (an IP address). (A
      # service's own settings are accepted once its gem is loaded.)
      def s3_by_path
        return unless @aws_endpoint && ::Aws.config[:endpoint] == @aws_endpoint

        ::Aws.config[:s3] = { force_path_style: true }.merge(::Aws.config[:s3] || {})
      end

      def format_logger
        return if @logger_formatted || !defined?(::Logger::Formatter)

        @logger_formatted = true
        Kernel.send(:lamina_gemless_require, File.join(RUNTIME_DIR, 'logger_format'))
      end
    end
  end
end

module Kernel
  alias_method :lamina_gemless_require, :require
  private :lamina_gemless_require

  private

  def require(path)
    loaded = lamina_gemless_require(path)
    LaminaRuntime::LazyGems.required(path) if loaded
    loaded
  rescue LoadError
    raise unless LaminaRuntime::LazyGems.load!

    require(path) # RubyGems' own require, now
  end

  def gem(name, *requirements)
    raise NoMethodError, "undefined method `gem' (RubyGems cannot be loaded)" unless LaminaRuntime::LazyGems.load!

    gem(name, *requirements) # RubyGems' own gem, now
  end
end

Object.autoload(:Gem, 'rubygems')
