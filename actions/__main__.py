"""`python -m actions`: check the business file (BUSINESS_FILE, default
actions/business.yml) the way the action server does as it starts; importing the
package does the check and exits 2 naming each problem."""

from actions import config

print(f"{config.BUSINESS_FILE}: ok")
