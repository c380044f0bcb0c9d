"""The spring-block model vs trained nets (reference section 5)."""
