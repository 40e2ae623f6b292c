# A Ruby function that fails, to see how Lambda reports Ruby errors.
#
#   {"amount": 500}   raises InsufficientFunds: errorType "Function<InsufficientFunds>"
#   {"amount": "5"}   a TypeError from Ruby itself: "Function<TypeError>"
#   {"typo": true}    calls a method that does not exist: "Function<NoMethodError>"; as on AWS, a
#                     NoMethodError (or NameError) also ends the environment after it is reported
class InsufficientFunds < StandardError
  def initialize(balance, amount)
    super("cannot withdraw #{amount}: the balance is #{balance}")
  end
end

BALANCE = 100

def lambda_handler(event:, context:)
  return BALANCE.withdraw(event['amount']) if event['typo']

  amount = event.fetch('amount', 0)
  raise InsufficientFunds.new(BALANCE, amount) if amount.is_a?(Integer) && amount > BALANCE

  { balance: BALANCE - amount }
end
