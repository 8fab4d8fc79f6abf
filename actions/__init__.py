"""Custom actions for the SMS appointment assistant; rasa_sdk registers every module."""
