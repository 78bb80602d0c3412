# frozen_string_literal: true

version = File.read(File.expand_path("../RAILS_VERSION", __dir__)).strip

Gem::Specification.new do |s|
  s.platform    = Gem::Platform::RUBY
  s.name        = "activesupport"
  s.version     = version
  s.summary     = "A toolkit of support libraries and Ruby core extensions extracted from the Rails framework."

  s.required_ruby_version = ">= 3.1.0"

  s.add_dependency "i18n",            ">= 1.6", "< 2"
  s.add_dependency "tzinfo",          "~> 2.0", ">= 2.0.5"
  s.add_dependency "concurrent-ruby", "~> 1.0", ">= 1.3.1"
  s.add_dependency "minitest",        ">= 5.1"
  s.add_runtime_dependency("base64")
  s.add_dependency "railties", version
  s.add_development_dependency "rake", ["~> 13.0"]
end
